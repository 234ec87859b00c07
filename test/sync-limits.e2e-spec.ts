import { ChatService } from '../src/chat/chat.service';
import { resetState, sql, startApp, TestApp } from './utils/app';
import { closeAllSockets, connect, emitAck, sleep } from './utils/sockets';
import { createRoom, createUser, TestUser } from './utils/users';

/** Stored messages per room: three rooms hold more than one sync answer may (500). */
const PER_ROOM = 300;

/**
 * What one `sync` may cost the server: each room once, at most 500 messages in one answer
 * (shared among the rooms that have more), one sync of a socket at a time. A hostile-client
 * probe had one 3 KB sync (a room named 100 times) build a 42 MB answer.
 */
describe('sync limits (e2e)', () => {
  let t: TestApp;
  let alice: TestUser;
  let rooms: number[];

  beforeAll(async () => {
    await resetState();
    t = await startApp();
    alice = await createUser(t, 'synclim');
    rooms = [];
    for (let i = 0; i < 3; i++) rooms.push(await createRoom(t, alice, [], `sync-limits-${i}`));
    for (const room of rooms) {
      await sql(
        `INSERT INTO messages (id, chatroom_id, seq, sender_id, type, content, created_at)
         SELECT gen_random_uuid(), $1, s, $2, 'text', 'm' || s, now() FROM generate_series(1, $3::int) s`,
        [room, alice.id, PER_ROOM],
      );
      await sql('UPDATE chatrooms SET last_seq = $2 WHERE id = $1', [room, PER_ROOM]);
    }
  });
  afterAll(async () => {
    closeAllSockets();
    await t.close();
  });

  it('answers at most 500 messages in all, every room getting some, and hasMore leads to the rest', async () => {
    const s = await connect(t.url, alice.token);
    const got = new Map<number, number[]>(rooms.map((r) => [r, []]));
    let calls = 0;
    let asking = rooms;
    while (asking.length) {
      const res = await emitAck(s, 'sync', {
        rooms: asking.map((chatroomId) => ({ chatroomId, afterSeq: got.get(chatroomId)!.at(-1) ?? 0 })),
      });
      expect(res.ok).toBe(true);
      const answered: { chatroomId: number; messages: { seq: number }[]; hasMore: boolean; lastSeq: number }[] =
        res.data.rooms;
      if (calls++ === 0) {
        expect(answered.reduce((n, r) => n + r.messages.length, 0)).toBe(500);
        for (const r of answered) {
          expect(r.messages.length).toBeGreaterThanOrEqual(166);
          expect(r.hasMore).toBe(true);
        }
      }
      for (const r of answered) got.get(r.chatroomId)!.push(...r.messages.map((m) => m.seq));
      asking = answered.filter((r) => r.hasMore).map((r) => r.chatroomId);
      expect(calls).toBeLessThan(10);
    }
    const all = Array.from({ length: PER_ROOM }, (_, i) => i + 1);
    for (const room of rooms) expect(got.get(room)).toEqual(all); // no gap, no repeat, in order
    expect(calls).toBe(2);
  });

  it('refuses a room named twice with VALIDATION_FAILED', async () => {
    const s = await connect(t.url, alice.token);
    const res = await emitAck(s, 'sync', {
      rooms: [
        { chatroomId: rooms[0], afterSeq: 0 },
        { chatroomId: rooms[1], afterSeq: 0 },
        { chatroomId: rooms[0], afterSeq: 5 },
      ],
    });
    expect(res.ok).toBe(false);
    expect(res.error).toMatchObject({ code: 'VALIDATION_FAILED' });
    expect(JSON.stringify(res.error?.details)).toContain('each chatroomId once');
  });

  it('runs one socket’s syncs one after another, answered in the order asked', async () => {
    const s = await connect(t.url, alice.token);
    const order: string[] = [];
    const big = emitAck(s, 'sync', { rooms: rooms.map((chatroomId) => ({ chatroomId, afterSeq: 0 })) }).then((r) => {
      order.push('big');
      return r;
    });
    // Nothing after the last seq: answered from Redis alone, so on its own it is the faster one.
    const small = emitAck(s, 'sync', { rooms: [{ chatroomId: rooms[0], afterSeq: PER_ROOM }] }).then((r) => {
      order.push('small');
      return r;
    });
    const [b, sm] = await Promise.all([big, small]);
    expect(b.ok && sm.ok).toBe(true);
    expect(sm.data.rooms[0]).toMatchObject({ messages: [], hasMore: false, lastSeq: PER_ROOM });
    expect(order).toEqual(['big', 'small']);
  });

  it('builds a socket’s next sync answer only once the client has read the last one', async () => {
    // Answers are cut by size (page-size.e2e-spec.ts), so the kernel's socket buffers would take
    // many real ones. A 12 MB answer, as 500 messages of 4,000 control characters once made,
    // stands in for output the client has not read: the wait is the gateway's, whatever the size.
    const service = t.app.get(ChatService);
    const real = service.sync.bind(service);
    const huge = { seq: 1, type: 'text', content: '\u0001'.repeat(2_000_000) };
    const built = jest.spyOn(service, 'sync').mockImplementation(async (user, dto) => {
      const answer = await real(user, dto);
      return { rooms: answer.rooms.map((r) => ({ ...r, messages: [huge as never] })) };
    });
    const s = await connect(t.url, alice.token);
    const tcp = (s.io.engine.transport as unknown as { ws: { _socket: { pause(): void; resume(): void } } }).ws._socket;
    tcp.pause();
    const answers = [1, 2, 3, 4].map(() =>
      emitAck(s, 'sync', { rooms: [{ chatroomId: rooms[0], afterSeq: PER_ROOM }] }, 20_000),
    );
    await sleep(1500);
    // The kernel's buffers may take one whole answer; the next stays in the process, and the
    // other syncs wait for it to be read.
    expect(built.mock.calls.length).toBeLessThanOrEqual(2);
    tcp.resume();
    for (const a of await Promise.all(answers)) expect(a.data.rooms[0].messages[0].content).toBe(huge.content);
    expect(built).toHaveBeenCalledTimes(4);
    built.mockRestore();
  });

  it('refuses a user who keeps syncing large answers with RATE_LIMITED and the wait, not another user', async () => {
    const dave = await createUser(t, 'syncvol');
    const room = await createRoom(t, dave, [alice], 'sync-limits-volume');
    await sql(
      `INSERT INTO messages (id, chatroom_id, seq, sender_id, type, content, created_at)
       SELECT gen_random_uuid(), $1, s, $2, 'text', repeat('v', 4000), now() FROM generate_series(1, 500) s`,
      [room, dave.id],
    );
    await sql('UPDATE chatrooms SET last_seq = 500 WHERE id = $1', [room]);
    const s = await connect(t.url, dave.token);
    const ask = () => emitAck(s, 'sync', { rooms: [{ chatroomId: room, afterSeq: 0 }] }, 20_000);
    // Each answer is cut by size: about 60 messages of 4,000 + 200 characters, plus 20,000 for
    // reading the room. The burst is 10 million and the budget refills 2 million a second.
    // Asking back to back, faster than that, the user is refused: after about forty answers on
    // a fast machine, later on a slow one, since the budget refills while each answer is built.
    // How many is a matter of speed; the total is not.
    const started = Date.now();
    const results = [];
    let charged = 0;
    let lastCharge = 0;
    for (let i = 0; i < 400; i++) {
      results.push(await ask());
      if (!results[i].ok) break;
      lastCharge = results[i].data.rooms[0].messages.length * (4000 + 200) + 20_000;
      charged += lastCharge;
    }
    const elapsedS = (Date.now() - started) / 1000;
    const served = results.filter((r) => r.ok).length;
    expect(served).toBeGreaterThanOrEqual(Math.floor(10_000_000 / lastCharge));
    // Checked before an answer is built and charged after: at most one answer past the budget.
    expect(charged).toBeLessThanOrEqual(10_000_000 + 2_000_000 * elapsedS + lastCharge);
    const refused = results[results.length - 1];
    expect(refused).toMatchObject({ ok: false, error: { code: 'RATE_LIMITED' } });
    expect(refused.error?.details.retryAfterMs).toBeGreaterThan(0);
    // The budget is the user's: alice, in the same room, still syncs.
    const other = await connect(t.url, alice.token);
    expect((await emitAck(other, 'sync', { rooms: [{ chatroomId: room, afterSeq: 0 }] }, 20_000)).ok).toBe(true);
  });

  it('charges each room a sync reads, so many small rooms do not sync for free; rooms with nothing new cost nothing', async () => {
    const erin = await createUser(t, 'syncrooms');
    const many: number[] = [];
    for (let i = 0; i < 100; i++) many.push(await createRoom(t, erin, [], `sync-rooms-${i}`));
    await sql(
      `INSERT INTO messages (id, chatroom_id, seq, sender_id, type, content, created_at)
       SELECT gen_random_uuid(), r, 1, $2, 'text', 'x', now() FROM unnest($1::int[]) r`,
      [many, erin.id],
    );
    await sql('UPDATE chatrooms SET last_seq = 1 WHERE id = ANY($1::int[])', [many]);
    const s = await connect(t.url, erin.token);
    // Nothing new past seq 1: no room is read, and no number of these is refused.
    for (let i = 0; i < 30; i++) {
      const quiet = await emitAck(s, 'sync', { rooms: many.map((chatroomId) => ({ chatroomId, afterSeq: 1 })) });
      expect(quiet.ok).toBe(true);
    }
    // From seq 0: 100 rooms read, a message each, charged 100 x 20,000 + 100 x 201 characters
    // against a burst of 10 million: refused after five or so, not after hundreds.
    const results = [];
    for (let i = 0; i < 30; i++) {
      results.push(await emitAck(s, 'sync', { rooms: many.map((chatroomId) => ({ chatroomId, afterSeq: 0 })) }));
      if (!results[i].ok) break;
    }
    expect(results.at(-1)).toMatchObject({ ok: false, error: { code: 'RATE_LIMITED' } });
    expect(results.length).toBeLessThanOrEqual(10);
  });
});
