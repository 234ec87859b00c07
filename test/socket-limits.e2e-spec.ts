import { io, type Socket } from 'socket.io-client';
import { eventually, resetState, startApp, TestApp } from './utils/app';
import { parseMetrics, valueOf } from './utils/metrics';
import { closeAllSockets, collect, connect, emitAck, sleep, waitFor } from './utils/sockets';
import { createRoom, createUser, TestUser } from './utils/users';

const MAX = 3;
const USER_BURST = 20;

/** The handshake's outcome: 'connected', or the connect_error's message and data. */
async function handshake(
  url: string,
  token: string,
): Promise<{ socket?: Socket; error?: { message: string; data?: unknown } }> {
  try {
    return { socket: await connect(url, token) };
  } catch (err) {
    const e = err as Error & { data?: unknown };
    return { error: { message: e.message, data: e.data } };
  }
}

/**
 * A user's sockets on one instance: at most SOCKETS_PER_USER_MAX of them, sharing one event
 * budget (on top of each socket's own); and every event answered, names no handler takes too.
 */
describe('socket limits per user (e2e)', () => {
  let t: TestApp;
  let room: number;
  let alice: TestUser, bob: TestUser;

  beforeAll(async () => {
    await resetState();
    t = await startApp({
      SOCKETS_PER_USER_MAX: String(MAX),
      USER_SOCKET_EVENT_RATE_PER_SEC: '1',
      USER_SOCKET_EVENT_BURST: String(USER_BURST),
    });
    [alice, bob] = [await createUser(t, 'alice'), await createUser(t, 'bob')];
    room = await createRoom(t, alice, [bob]);
  });
  afterEach(() => closeAllSockets());
  afterAll(() => t.close());

  describe('sockets per user', () => {
    it('refuses a user\'s socket beyond the cap with connect_error "too many connections"; other users connect', async () => {
      const u = await createUser(t, 'many');
      for (let i = 0; i < MAX; i++) expect((await handshake(t.url, u.token)).socket?.connected).toBe(true);
      expect((await handshake(t.url, u.token)).error).toEqual({
        message: 'too many connections',
        data: { code: 'RATE_LIMITED', details: { max: MAX } },
      });
      // The cap is the user's, not the server's.
      expect((await handshake(t.url, bob.token)).socket?.connected).toBe(true);
      // A bad token is still "unauthorized", whoever it names.
      expect((await handshake(t.url, `${u.token}x`)).error?.message).toBe('unauthorized');
      const m = parseMetrics(await (await fetch(`${t.url}/metrics`)).text());
      expect(valueOf(m, 'chat_rate_limited_total', { scope: 'socket_connections' })).toBeGreaterThanOrEqual(1);
    });

    it('lets exactly the cap in when many handshakes of one user run at once', async () => {
      const u = await createUser(t, 'crowd');
      const outcomes = await Promise.all(Array.from({ length: 3 * MAX }, () => handshake(t.url, u.token)));
      expect(outcomes.filter((o) => o.socket).length).toBe(MAX);
      expect(outcomes.filter((o) => o.error).map((o) => o.error!.message)).toEqual(
        Array(2 * MAX).fill('too many connections'),
      );
    });

    it('frees a place when a socket disconnects, and a handshake the client abandoned takes none', async () => {
      const u = await createUser(t, 'reuse');
      // Clients that hang up right after asking to connect, while their token is checked.
      for (let i = 0; i < 2 * MAX; i++) {
        const s = io(t.url, {
          transports: ['websocket'],
          auth: { token: u.token },
          forceNew: true,
          reconnection: false,
        });
        s.io.on('open', () => setImmediate(() => s.io.engine.close()));
      }
      await sleep(500);
      const sockets: Socket[] = [];
      for (let i = 0; i < MAX; i++) sockets.push((await handshake(t.url, u.token)).socket!);
      expect(sockets.every((s) => s?.connected)).toBe(true);
      expect((await handshake(t.url, u.token)).error?.message).toBe('too many connections');

      sockets[0].disconnect();
      const again = await eventually(async () => (await handshake(t.url, u.token)).socket, 5000, 'a freed place');
      expect(again!.connected).toBe(true);
      expect((await handshake(t.url, u.token)).error?.message).toBe('too many connections');
    });
  });

  describe('events per user', () => {
    it("refuses events beyond the user's budget on any of its sockets with RATE_LIMITED", async () => {
      const sockets = await Promise.all(Array.from({ length: MAX }, () => connect(t.url, alice.token)));
      const exceptions = collect(sockets[0], 'exception');
      // 10 events per socket: far within each socket's own budget (500), 30 for the user.
      const acks = await Promise.all(
        sockets.flatMap((s) => Array.from({ length: 10 }, () => emitAck(s, 'joinRoom', { chatroomId: room }))),
      );
      const ok = acks.filter((a) => a.ok).length;
      expect(ok).toBeGreaterThanOrEqual(USER_BURST);
      expect(ok).toBeLessThanOrEqual(USER_BURST + 2); // what refilled at 1 per second meanwhile
      const refused = acks.filter((a) => !a.ok);
      expect(refused.length).toBe(acks.length - ok);
      for (const a of refused) {
        expect(a.error).toEqual({
          code: 'RATE_LIMITED',
          message: "Too many events on this user's connections; slow down",
          details: { retryAfterMs: expect.any(Number) },
        });
      }
      // Without a callback: an exception event (of a few, at most one has refilled).
      for (let i = 0; i < 5; i++) sockets[0].emit('joinRoom', { chatroomId: room });
      await eventually(() => exceptions.length > 0, 5000, 'the exception event');
      expect(exceptions[0]).toMatchObject({ event: 'joinRoom', code: 'RATE_LIMITED' });
      // Another user is untouched. This user's sends wait for the budget too, as long as it says.
      const b = await connect(t.url, bob.token);
      expect((await emitAck(b, 'joinRoom', { chatroomId: room })).ok).toBe(true);
      const send = { chatroomId: room, message: { type: 'text', content: 'hi' } };
      const waited = await emitAck(sockets[1], 'sendMessage', send);
      if (!waited.ok) {
        expect(waited.error).toMatchObject({ code: 'RATE_LIMITED' });
        await sleep((waited.error!.details as { retryAfterMs: number }).retryAfterMs);
      }
      const sent = await emitAck(sockets[1], 'sendMessage', {
        chatroomId: room,
        message: { type: 'text', content: 'hi' },
      });
      expect(sent.ok).toBe(true);
      const m = parseMetrics(await (await fetch(`${t.url}/metrics`)).text());
      expect(valueOf(m, 'chat_rate_limited_total', { scope: 'socket_user_events' })).toBeGreaterThanOrEqual(
        refused.length,
      );
    });
  });

  describe('refused sends', () => {
    const bad = { chatroomId: 'x', message: { type: 'text', content: 'hi' } };

    it('charges refused sends to the event budget; accepted ones cost it nothing', async () => {
      const u = await createUser(t, 'sender');
      const own = await createRoom(t, u, []);
      const s = await connect(t.url, u.token);
      // Twice the budget in accepted sends (within SEND_BURST): every one acked.
      for (let i = 0; i < 2 * USER_BURST; i++) {
        const a = await emitAck(s, 'sendMessage', { chatroomId: own, message: { type: 'text', content: `m${i}` } });
        expect(a).toMatchObject({ ok: true });
      }
      // Bad ones spend it: validated and refused up to the budget, then refused at the gate.
      const acks = await Promise.all(Array.from({ length: USER_BURST + 10 }, () => emitAck(s, 'sendMessage', bad)));
      const codes = acks.map((a) => a.error?.code);
      const validated = codes.filter((c) => c === 'VALIDATION_FAILED').length;
      expect(validated).toBeGreaterThanOrEqual(USER_BURST);
      expect(validated).toBeLessThanOrEqual(USER_BURST + 2); // refilled at 1 per second meanwhile
      expect(codes.filter((c) => c === 'RATE_LIMITED').length).toBe(acks.length - validated);
    });

    it('cuts a connection that floods past its refusals; it reconnects to the same spent budget; others go on', async () => {
      const u = await createUser(t, 'flooder');
      const s = await connect(t.url, u.token, { reconnection: true, reconnectionDelay: 100 });
      const before = parseMetrics(await (await fetch(`${t.url}/metrics`)).text());
      const answers: { ok: boolean; error?: { code: string } }[] = [];
      const cut = new Promise<string>((resolve) => s.once('disconnect', resolve));
      const reconnected = cut.then(() => new Promise<void>((resolve) => s.once('connect', () => resolve())));
      for (let i = 0; i < 1000; i++) s.emit('sendMessage', bad, (a: (typeof answers)[number]) => answers.push(a));
      expect(await cut).toBe('transport close');
      const codes = answers.map((a) => a.error?.code);
      expect(codes.filter((c) => c === 'VALIDATION_FAILED').length).toBeLessThanOrEqual(USER_BURST + 2);
      // The refusals up to the cut were answered (201, and what 20 a second gave back meanwhile).
      const limited = codes.filter((c) => c === 'RATE_LIMITED').length;
      expect(limited).toBeGreaterThanOrEqual(201);
      expect(limited).toBeLessThan(1000 - USER_BURST);
      const metricsAfter = parseMetrics(await (await fetch(`${t.url}/metrics`)).text());
      expect(valueOf(metricsAfter, 'chat_flood_disconnects_total')).toBe(
        valueOf(before, 'chat_flood_disconnects_total') + 1,
      );
      // Another user sends at once; the flooder's client is back by itself.
      const b = await connect(t.url, bob.token);
      const sent = await emitAck(b, 'sendMessage', { chatroomId: room, message: { type: 'text', content: 'calm' } });
      expect(sent.ok).toBe(true);
      await reconnected;
      // The user's budget is not new with the connection: still spent, until it refills.
      const spent = await emitAck(s, 'sendMessage', bad);
      expect(spent.error).toMatchObject({ code: 'RATE_LIMITED', message: expect.stringContaining('user') });
      await sleep(spent.error!.details.retryAfterMs);
      expect((await emitAck(s, 'sendMessage', bad)).error?.code).toBe('VALIDATION_FAILED');
    });
  });

  describe('binary events', () => {
    it('refuses one with VALIDATION_FAILED without waiting for its attachments; the socket goes on', async () => {
      const u = await createUser(t, 'binary');
      const own = await createRoom(t, u, []);
      const s = await connect(t.url, u.token);
      const content = Buffer.alloc(32 * 1024, 1);
      const refused = await emitAck(s, 'sendMessage', { chatroomId: own, message: { type: 'text', content } });
      expect(refused).toEqual({
        ok: false,
        error: expect.objectContaining({ code: 'VALIDATION_FAILED', message: expect.stringContaining('binary data') }),
      });
      // Its attachment was dropped, not taken for the next packet: a JSON send is stored.
      const sent = await emitAck(s, 'sendMessage', { chatroomId: own, message: { type: 'text', content: 'json' } });
      expect(sent).toMatchObject({ ok: true, data: { seq: 1, content: 'json' } });
    });
  });

  describe('unknown events', () => {
    const NAMES = [
      'sendMesage',
      'foo',
      'toString',
      '__proto__',
      'constructor',
      'hasOwnProperty',
      'message',
      'presence',
    ];

    it('answers an event no handler takes with VALIDATION_FAILED through its ack', async () => {
      const u = await createUser(t, 'typo');
      const s = await connect(t.url, u.token);
      for (const name of NAMES) {
        expect([name, await emitAck(s, name, {})]).toEqual([
          name,
          { ok: false, error: { code: 'VALIDATION_FAILED', message: `Unknown event "${name}"` } },
        ]);
      }
      // A long name is not repeated in full.
      const long = await emitAck(s, 'x'.repeat(5000), {});
      expect(long.error?.code).toBe('VALIDATION_FAILED');
      expect(long.error!.message.length).toBeLessThan(100);
      // The socket still works.
      const own = await createRoom(t, u);
      expect((await emitAck(s, 'joinRoom', { chatroomId: own })).ok).toBe(true);
    });

    it('answers one without a callback with an exception event, and a known event only once', async () => {
      const u = await createUser(t, 'nocb');
      const own = await createRoom(t, u);
      const s = await connect(t.url, u.token);
      const exceptions = collect(s, 'exception');
      s.emit('sendMesage', { chatroomId: own });
      expect(await waitFor(s, 'exception')).toEqual({
        event: 'sendMesage',
        code: 'VALIDATION_FAILED',
        message: 'Unknown event "sendMesage"',
      });
      // Known events pass the gate untouched: a good one answers nothing, a bad one once.
      s.emit('typing', { chatroomId: own, typing: true });
      s.emit('joinRoom', { chatroomId: 'x' });
      await eventually(() => exceptions.length >= 2, 5000, 'the joinRoom exception');
      await sleep(300);
      expect(exceptions.map((e: { event: string; code: string }) => [e.event, e.code])).toEqual([
        ['sendMesage', 'VALIDATION_FAILED'],
        ['joinRoom', 'VALIDATION_FAILED'],
      ]);
    });

    it('charges unknown events to the event budget, so they buy no more answers than real ones', async () => {
      const u = await createUser(t, 'noise');
      const s = await connect(t.url, u.token);
      const acks = await Promise.all(Array.from({ length: USER_BURST + 10 }, () => emitAck(s, 'foo', {})));
      const codes = acks.map((a) => a.error?.code);
      expect(codes.filter((c) => c === 'VALIDATION_FAILED').length).toBeGreaterThanOrEqual(USER_BURST);
      expect(codes.filter((c) => c === 'VALIDATION_FAILED').length).toBeLessThanOrEqual(USER_BURST + 2);
      const answered = codes.filter((c) => c === 'VALIDATION_FAILED').length;
      expect(codes.filter((c) => c === 'RATE_LIMITED').length).toBe(acks.length - answered);
    });
  });
});
