/**
 * The served AsyncAPI document against real traffic: every ack of every client event (success
 * and failure), every server event and every timeline variant a socket session produces is
 * validated with ajv against the schema the document gives its message. An undocumented
 * field fails too: the document's objects do not allow additional properties.
 */
import Ajv, { type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import type { Socket } from 'socket.io-client';
import { ClientEvent, ServerEvent, TimelineEvent } from '../src/common/constants';
import { resetState, startApp, TestApp } from './utils/app';
import { closeAllSockets, connect, emitAck, waitFor } from './utils/sockets';
import { auth, createRoom, createUser, TestUser } from './utils/users';

const LEGACY_SELF_IDS = ['userId', 'sendUserId'];

describe('AsyncAPI document (e2e)', () => {
  let t: TestApp;
  let doc: any;
  let alice: TestUser, bob: TestUser, carol: TestUser;
  let room: number;
  const ajv = new Ajv({ allErrors: true, strict: true });
  addFormats(ajv);

  beforeAll(async () => {
    await resetState();
    t = await startApp();
    [alice, bob, carol] = await Promise.all(['alice', 'bob', 'carol'].map((n) => createUser(t, n)));
    room = await createRoom(t, alice, [bob, carol]);
    const res = await t.http().get('/docs/asyncapi.json');
    expect(res.status).toBe(200);
    doc = res.body;
  });
  afterEach(() => closeAllSockets());
  afterAll(() => t.close());

  const last = (r: { $ref: string }) => r.$ref.split('/').pop()!;
  const compiled = new Map<string, ValidateFunction>();
  /** The validator of a message's payload, found the way a reader of the document finds it. */
  function validatorFor(operationId: string, reply = false): ValidateFunction {
    const key = `${operationId}:${reply}`;
    if (!compiled.has(key)) {
      const op = doc.operations[operationId];
      const msgRef = (reply ? op.reply : op).messages[0];
      const message = doc.components.messages[last(doc.channels.socket.messages[last(msgRef)])];
      compiled.set(key, ajv.compile(doc.components.schemas[last(message.payload)]));
    }
    return compiled.get(key)!;
  }
  function expectValid(operationId: string, value: unknown, reply = false) {
    const validate = validatorFor(operationId, reply);
    expect({ operationId, value, errors: validate(value) ? null : validate.errors }).toMatchObject({ errors: null });
  }
  const serverOp = (event: string) => `emit${event[0].toUpperCase()}${event.slice(1)}`;

  /** Records every server event a socket gets. */
  function record(socket: Socket): { event: string; payload: unknown }[] {
    const got: { event: string; payload: unknown }[] = [];
    socket.onAny((event: string, payload: unknown) => got.push({ event, payload }));
    return got;
  }

  it('is served as JSON with the host the client used, and as a readable page', async () => {
    expect(doc.asyncapi).toBe('3.0.0');
    expect(doc.servers.chat.host).toBe(new URL(t.url).host);
    const page = await t.http().get('/docs/asyncapi');
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toMatch(/text\/html/);
    for (const event of Object.values(ClientEvent)) expect(page.text).toContain(`<code>${event}</code>`);
    expect(page.text).not.toMatch(/<script/);
  });

  it('every real ack, success or failure, matches its documented reply schema', async () => {
    const a = await connect(t.url, alice.token);
    const acks: [string, unknown][] = [
      [ClientEvent.JoinRoom, await emitAck(a, ClientEvent.JoinRoom, { chatroomId: room })],
      [ClientEvent.Typing, await emitAck(a, ClientEvent.Typing, { chatroomId: room, typing: true })],
    ];
    const sent = await emitAck(a, ClientEvent.SendMessage, {
      chatroomId: room,
      clientMsgId: 'doc-1',
      message: { type: 'text', content: 'hello' },
    });
    acks.push([ClientEvent.SendMessage, sent]);
    // (not a payload without `message`: that one is answered INTERNAL at the time of writing)
    const badType = { chatroomId: room, message: { type: 'video', content: 'x' } };
    acks.push([ClientEvent.SendMessage, await emitAck(a, ClientEvent.SendMessage, badType)]);
    acks.push([ClientEvent.Sync, await emitAck(a, ClientEvent.Sync, { rooms: [{ chatroomId: room, afterSeq: 0 }] })]);
    acks.push([ClientEvent.MarkRead, await emitAck(a, ClientEvent.MarkRead, { chatroomId: room, seq: 1 })]);
    acks.push([ClientEvent.JoinRoom, await emitAck(a, ClientEvent.JoinRoom, { chatroomId: 999_999 })]);
    acks.push([ClientEvent.LeaveRoom, await emitAck(a, ClientEvent.LeaveRoom, { chatroomId: room })]);

    expect(acks.filter(([, ack]: any) => ack.ok).map(([e]) => e)).toEqual(
      expect.arrayContaining(Object.values(ClientEvent)),
    );
    expect(acks.filter(([, ack]: any) => !ack.ok).map(([, ack]: any) => ack.error.code)).toEqual([
      'VALIDATION_FAILED',
      'NOT_FOUND',
    ]);
    for (const [event, ack] of acks) expectValid(event, ack, true);
    // The schema is strict enough to catch a wrong shape.
    expect(validatorFor(ClientEvent.SendMessage, true)({ ok: true, data: { ...sent.data, extra: 1 } })).toBe(false);
  });

  it('the documented payload schemas agree with the server: valid examples pass, bounds and unknown fields fail both', async () => {
    const a = await connect(t.url, alice.token);
    const valid: Record<string, Record<string, unknown>> = {
      [ClientEvent.JoinRoom]: { chatroomId: room },
      [ClientEvent.LeaveRoom]: { chatroomId: room },
      [ClientEvent.SendMessage]: { chatroomId: room, clientMsgId: 'bounds-1', message: { type: 'text', content: 'x' } },
      [ClientEvent.Sync]: { rooms: [{ chatroomId: room, afterSeq: 0 }], limit: 10 },
      [ClientEvent.MarkRead]: { chatroomId: room, seq: 0 },
      [ClientEvent.Typing]: { chatroomId: room, typing: false },
    };
    for (const [event, payload] of Object.entries(valid)) {
      const schema = validatorFor(event);
      expect({ event, errors: schema(payload) ? null : schema.errors }).toEqual({ event, errors: null });
      expect({ event, ack: await emitAck(a, event, payload) }).toMatchObject({ event, ack: { ok: true } });
      // Every bad variant the schema implies (unknown field, each top-level bound ± 1, pattern).
      const props = (schema.schema as any).properties as Record<string, any>;
      const bad: [string, Record<string, unknown>][] = [['bogus', { ...payload, bogus: 1 }]];
      for (const [k, p] of Object.entries(props)) {
        if (p.maximum !== undefined) bad.push([k, { ...payload, [k]: p.maximum + 1 }]);
        if (p.minimum !== undefined) bad.push([k, { ...payload, [k]: p.minimum - 1 }]);
        if (p.pattern) bad.push([k, { ...payload, [k]: 'x'.repeat(65) }]);
      }
      for (const [field, b] of bad) {
        expect({ event, b, schemaAccepts: schema(b) }).toEqual({ event, b, schemaAccepts: false });
        const ack = await emitAck(a, event, b);
        // The legacy self-id fields are refused as "not yours" whatever their value.
        const refusal = LEGACY_SELF_IDS.includes(field)
          ? expect.stringMatching(/^(VALIDATION_FAILED|FORBIDDEN)$/)
          : 'VALIDATION_FAILED';
        expect({ event, b, code: ack.error?.code }).toEqual({ event, b, code: refusal });
      }
    }
  });

  it('every real server event and timeline variant matches its documented schema', async () => {
    const a = await connect(t.url, alice.token);
    const aGot = record(a);
    await emitAck(a, ClientEvent.JoinRoom, { chatroomId: room });
    const b = await connect(t.url, bob.token);
    const bGot = record(b);
    await emitAck(b, ClientEvent.JoinRoom, { chatroomId: room });
    // Each wait starts before its action: a broadcast goes out before the ack of what caused it.
    // Announcements close together are coalesced: carol may come in one event with bob.
    const names = (p: { userId: number; userIds?: number[] }, id: number) => (p.userIds ?? [p.userId]).includes(id);
    const online = waitFor(a, ServerEvent.Presence, (p) => names(p, carol.id) && p.online);
    const c = await connect(t.url, carol.token);
    await online;
    const timeline = (type: string) => waitFor(b, ServerEvent.Message, (e) => e.type === type);
    let seen: Promise<unknown> = timeline(TimelineEvent.SendMessage);
    const ack = await emitAck(a, ClientEvent.SendMessage, {
      chatroomId: room,
      message: { type: 'text', content: 'hi' },
    });
    const id = ack.data.id;
    await seen;
    seen = waitFor(a, ServerEvent.Typing);
    await emitAck(b, ClientEvent.Typing, { chatroomId: room, typing: true });
    await seen;
    const read = [waitFor(a, ServerEvent.Read), waitFor(b, ServerEvent.Inbox)];
    await emitAck(b, ClientEvent.MarkRead, { chatroomId: room, seq: ack.data.seq });
    await Promise.all(read);
    seen = timeline(TimelineEvent.EditMessage);
    expect((await t.http().patch(`/messages/${id}`).set(auth(alice)).send({ content: 'hi!' })).status).toBe(200);
    await seen;
    seen = timeline(TimelineEvent.DeleteMessage);
    expect((await t.http().delete(`/messages/${id}`).set(auth(alice))).status).toBe(204);
    await seen;
    seen = timeline(TimelineEvent.LeaveRoom);
    await emitAck(a, ClientEvent.LeaveRoom, { chatroomId: room });
    await seen;
    seen = waitFor(b, ServerEvent.Exception);
    b.emit(ClientEvent.JoinRoom, { chatroomId: 'nope' }); // no callback: answered by `exception`
    await seen;
    seen = waitFor<any>(b, ServerEvent.Presence, (p) => names(p, carol.id) && !p.online);
    c.disconnect();
    await seen;

    const all = [...aGot, ...bGot];
    expect(new Set(all.map((e) => e.event))).toEqual(new Set(Object.values(ServerEvent)));
    const types = all.filter((e) => e.event === ServerEvent.Message).map((e: any) => e.payload.type);
    expect(new Set(types)).toEqual(new Set(Object.values(TimelineEvent)));
    for (const { event, payload } of all) expectValid(serverOp(event), payload);
  });

  it('a refused handshake matches the documented connect_error', async () => {
    const err = await connect(t.url, 'not-a-jwt').catch((e: Error) => e);
    expectValid('refuseHandshake', { message: (err as Error).message });
  });
});
