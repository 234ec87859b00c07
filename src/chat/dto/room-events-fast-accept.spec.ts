import { ArgumentMetadata } from '@nestjs/common';
import { payloadCases, prng, randomJson, RawJson, toJson } from '../../../test/utils/fuzz-cases';
import { equals, fuzzCtx, outcome } from '../../../test/utils/fast-accept';
import { fieldsOfClass } from '../../../test/utils/fuzz-model';
import { SocketPayloadPipe } from '../../common/payload-validation.pipe';
import { acceptJoinRoom, acceptSync, JoinRoomDto, LeaveRoomDto, SyncDto } from './chat-events.dto';

/**
 * joinRoom and sync, the events every reconnect sends, have hand-written fast accepts like
 * sendMessage's (send-message-fast-accept.spec.ts): checked here against the full path
 * (raw checks, class-transformer, class-validator) on hand-picked, generated and random
 * payloads.
 */
const pipe = new SocketPayloadPipe();
const MAX = 2147483647;

const wire = (c: unknown) => (): unknown => (c === undefined ? undefined : JSON.parse(toJson(c)));
const ctx = fuzzCtx;

const room = { chatroomId: 7, afterSeq: 0 };
const cases = {
  joinRoom: {
    dto: JoinRoomDto,
    accept: acceptJoinRoom,
    good: { chatroomId: 7 },
    names: ['chatroomId', 'userId'],
    handPicked: [
      { chatroomId: 7 },
      { chatroomId: 7, userId: 3 },
      { chatroomId: 7, userId: null },
      { chatroomId: MAX },
      { chatroomId: MAX + 1 },
      { chatroomId: 0 },
      { chatroomId: -0 },
      { chatroomId: 1.5 },
      { chatroomId: '7' },
      { chatroomId: 7, userId: 0 },
      { chatroomId: 7, extra: true },
      new RawJson('{"chatroomId":7,"__proto__":{"x":1}}'),
      {},
      [],
      null,
      7,
    ] as unknown[],
  },
  sync: {
    dto: SyncDto,
    accept: acceptSync,
    good: { rooms: [room] },
    names: ['rooms', 'limit', 'chatroomId', 'afterSeq'],
    handPicked: [
      { rooms: [room] },
      { rooms: [room], limit: 1 },
      { rooms: [room], limit: 500 },
      { rooms: [room], limit: 501 },
      { rooms: [room], limit: 0 },
      { rooms: [room], limit: null },
      { rooms: [room], limit: 2.5 },
      { rooms: [{ chatroomId: 7, afterSeq: MAX }] },
      { rooms: [{ chatroomId: 7, afterSeq: MAX + 1 }] },
      { rooms: [{ chatroomId: 7, afterSeq: -1 }] },
      { rooms: [{ chatroomId: 7, afterSeq: -0 }] },
      { rooms: [{ chatroomId: 7 }] },
      { rooms: [{ chatroomId: 7, afterSeq: 0, x: 1 }] },
      { rooms: Array.from({ length: 100 }, (_, i) => ({ chatroomId: i + 1, afterSeq: i })) },
      { rooms: Array.from({ length: 101 }, (_, i) => ({ chatroomId: i + 1, afterSeq: i })) },
      { rooms: [] },
      { rooms: [[]] },
      { rooms: [null] },
      { rooms: room },
      { rooms: [room], extra: 1 },
      new RawJson('{"rooms":[{"chatroomId":7,"afterSeq":0,"__proto__":{}}]}'),
      {},
    ] as unknown[],
  },
};

describe.each(Object.entries(cases))('%s fast accept (vs the DTO rules)', (_event, c) => {
  const meta: ArgumentMetadata = { type: 'body', metatype: c.dto };
  const all = (): unknown[] => {
    const r = prng(23);
    const random = Array.from({ length: 2000 }, () => randomJson(r, c.names));
    const shaped = Array.from({ length: 2000 }, () => {
      const v = JSON.parse(JSON.stringify(c.good)) as Record<string, unknown>;
      const target = Array.isArray(v.rooms) && r.rnd() < 0.5 ? (v.rooms[0] as Record<string, unknown>) : v;
      target[r.pick(c.names)] = randomJson(r, c.names, 3);
      return v;
    });
    const fields = fieldsOfClass(c.dto);
    return [...c.handPicked, ...payloadCases(fields, ctx, true), ...random, ...shaped];
  };

  it('accepts exactly what the full path accepts, as the same DTO', async () => {
    const wrong: string[] = [];
    let accepted = 0;
    for (const p of all().map(wire)) {
      const full = await outcome(() => pipe.validateFully(p(), meta));
      const fast = c.accept(p());
      if (fast !== undefined) {
        accepted++;
        if (!('ok' in full)) wrong.push(`accepted what the full path refuses: ${JSON.stringify(p())}`);
        else if (!equals(fast, full.ok)) wrong.push(`accepted as a different DTO: ${JSON.stringify(p())}`);
      } else if ('ok' in full) {
        wrong.push(`fell back on a plain valid payload: ${JSON.stringify(p())?.slice(0, 200)}`);
      }
    }
    expect(wrong).toEqual([]);
    expect(accepted).toBeGreaterThan(10);
  });

  it('leaves the refusals to the full path: the same errors through the pipe', async () => {
    for (const p of all().map(wire)) {
      expect(await outcome(() => pipe.transform(p(), meta))).toStrictEqual(
        await outcome(() => pipe.validateFully(p(), meta)),
      );
    }
  });
});

describe('room event fast accepts', () => {
  it('leaveRoom (a subclass of JoinRoomDto) keeps its own class through the pipe', async () => {
    const dto = await pipe.transform({ chatroomId: 7 }, { type: 'body', metatype: LeaveRoomDto });
    expect(dto).toBeInstanceOf(LeaveRoomDto);
  });
});
