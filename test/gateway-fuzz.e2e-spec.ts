import { ERROR_CODES } from '@chat-backend/protocol';
import { resetState, startApp, TestApp } from './utils/app';
import { closeAllSockets, connect, emitAck, sleep } from './utils/sockets';
import { createRoom, createUser } from './utils/users';

/** Every contract error code a refusal may carry: all of them but INTERNAL. */
const CODES: string[] = ERROR_CODES.filter((c) => c !== 'INTERNAL');
const EVENTS = ['joinRoom', 'leaveRoom', 'sendMessage', 'sync', 'typing', 'noSuchEvent'];

/** A deterministic stream of hostile values (seeded LCG, so a failure replays). */
function generator(seed: number) {
  let s = seed;
  const rnd = () => (s = (s * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  const pick = <T>(xs: T[]) => xs[Math.floor(rnd() * xs.length)];
  const scalar = () =>
    pick<unknown>([
      null,
      undefined,
      true,
      0,
      -1,
      1.5,
      2 ** 31,
      -(2 ** 53),
      NaN,
      '',
      'x',
      '1',
      'a'.repeat(5000),
      [],
      {},
      [1, 2],
    ]);
  const value = (depth: number): unknown => {
    if (depth > 2 || rnd() < 0.5) return scalar();
    if (rnd() < 0.3) return Array.from({ length: Math.floor(rnd() * 4) }, () => value(depth + 1));
    const o: Record<string, unknown> = {};
    for (const k of [
      'chatroomId',
      'message',
      'content',
      'type',
      'rooms',
      'afterSeq',
      'typing',
      'clientMsgId',
      'sendUserId',
      'userId',
      'seq',
      'limit',
      '__proto__',
      'constructor',
    ])
      // defineProperty: an assignment to __proto__ sets the prototype and sends no key at all.
      if (rnd() < 0.35) Object.defineProperty(o, k, { value: value(depth + 1), enumerable: true, writable: true });
    return o;
  };
  return { pick, value, rnd };
}

describe('gateway fuzz (e2e)', () => {
  let t: TestApp;
  afterAll(async () => {
    closeAllSockets();
    await t.close();
  });

  it('survives hundreds of malformed payloads and still answers correctly afterwards', async () => {
    await resetState();
    t = await startApp({
      SEND_RATE_PER_SEC: '10000',
      SEND_BURST: '10000',
      SOCKET_EVENT_RATE_PER_SEC: '10000',
      SOCKET_EVENT_BURST: '10000',
      SOCKET_TYPING_RATE_PER_SEC: '10000',
      SOCKET_TYPING_BURST: '10000',
      USER_SOCKET_EVENT_RATE_PER_SEC: '10000',
      USER_SOCKET_EVENT_BURST: '10000',
      USER_SOCKET_TYPING_RATE_PER_SEC: '10000',
      USER_SOCKET_TYPING_BURST: '10000',
    });
    const u = await createUser(t, 'fuzzer');
    const room = await createRoom(t, u);
    const s = await connect(t.url, u.token);
    const g = generator(42);
    let acked = 0;
    for (let i = 0; i < 400; i++) {
      const event = g.pick(EVENTS);
      const payload = g.value(0);
      // No callback: at most an `exception` event. With one, every event is answered, unknown ones too.
      if (g.rnd() < 0.2) {
        s.emit(event, payload);
        continue;
      }
      const ack = await emitAck(s, event, payload, 3000).catch(() => 'no-ack');
      expect([event, ack]).not.toEqual([event, 'no-ack']);
      if (typeof ack === 'object' && !ack.ok) expect(CODES).toContain(ack.error!.code);
      acked++;
    }
    expect(acked).toBeGreaterThan(200);
    await sleep(200);
    expect(s.connected).toBe(true);
    const ok = await emitAck(s, 'sendMessage', { chatroomId: room, message: { type: 'text', content: 'still fine' } });
    expect(ok).toMatchObject({ ok: true, data: { content: 'still fine', seq: expect.any(Number) } });
    const health = await t.http().get('/health');
    expect(health.status).toBe(200);
  });
});

/**
 * Payloads larger than any event takes are refused before anything walks their items, and
 * the refusal stays small: a `sync` of 1,000 bad rooms used to cost the main thread 38 ms
 * and answer 372 KB listing every field, so a few hundred of them held up every other
 * user's messages (found by a hostile-input probe).
 */
describe('oversized payloads (e2e)', () => {
  let t: TestApp;
  let token: string;
  let room: number;
  beforeAll(async () => {
    await resetState();
    t = await startApp();
    const u = await createUser(t, 'bulky');
    token = u.token;
    room = await createRoom(t, u);
  });
  afterAll(async () => {
    closeAllSockets();
    await t.close();
  });

  const size = (ack: unknown) => Buffer.byteLength(JSON.stringify(ack));
  /** `base` plus `n` unknown fields k0, k1, … */
  const withFields = (base: Record<string, unknown>, n: number) => ({
    ...base,
    ...Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, 1])),
  });

  it('refuses a sync over its room limit by the limit alone, not item by item', async () => {
    const s = await connect(t.url, token);
    const rooms = Array.from({ length: 1000 }, () => ({ chatroomId: 'x', afterSeq: 'y' }));
    const ack = await emitAck(s, 'sync', { rooms });
    expect(ack).toMatchObject({ ok: false, error: { code: 'VALIDATION_FAILED' } });
    expect(ack.error!.details).toEqual([{ field: 'rooms', errors: ['rooms must contain no more than 100 elements'] }]);
    expect(size(ack)).toBeLessThan(1024);
  });

  it('refuses an object with more fields than any event has, without listing them', async () => {
    const s = await connect(t.url, token);
    const ack = await emitAck(s, 'joinRoom', withFields({ chatroomId: room }, 5000));
    expect(ack).toMatchObject({ ok: false, error: { code: 'VALIDATION_FAILED' } });
    expect(ack.error!.details).toEqual([{ field: '', errors: ['must not have more than 100 fields'] }]);
    expect(size(ack)).toBeLessThan(1024);
  });

  it('lists the first 20 bad fields and says how many more there are', async () => {
    const s = await connect(t.url, token);
    const ack = await emitAck(s, 'joinRoom', withFields({ chatroomId: room }, 90));
    expect(ack).toMatchObject({ ok: false, error: { code: 'VALIDATION_FAILED' } });
    expect(ack.error!.details).toHaveLength(20);
    expect(ack.error!.message).toMatch(/ and 70 more$/);
    // The socket is fine, and so is the next event.
    expect(await emitAck(s, 'joinRoom', { chatroomId: room })).toMatchObject({ ok: true });
  });

  it('refuses REST bodies the same way', async () => {
    const res = await t
      .http()
      .post('/chatrooms')
      .set('Authorization', `Bearer ${token}`)
      .send(withFields({ name: 'r' }, 500));
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ code: 'VALIDATION_FAILED' });
    expect(res.body.details).toEqual([{ field: '', errors: ['must not have more than 100 fields'] }]);
    const list = await t
      .http()
      .post('/chatrooms')
      .set('Authorization', `Bearer ${token}`)
      .send({ name: 'r', memberIds: Array.from({ length: 5000 }, (_, i) => i + 1) });
    expect(list.status).toBe(400);
    expect(list.body.details).toEqual([{ field: 'memberIds', errors: ['must not have more than 1000 items'] }]);
  });

  it('refuses a handshake that repeats ?token=, even with two good tokens', async () => {
    const other = await createUser(t, 'bulky2');
    // By hand over long-polling: socket.io-client rebuilds the query from an object, one value per key.
    const handshake = async (query: string) => {
      const base = `${t.url}/socket.io/?EIO=4&transport=polling`;
      const open = await (await fetch(`${base}&${query}`)).text();
      const { sid } = JSON.parse(open.slice(1)) as { sid: string };
      await fetch(`${base}&sid=${sid}`, { method: 'POST', body: '40' });
      return (await fetch(`${base}&sid=${sid}`)).text();
    };
    expect(await handshake(`token=${other.token}&token=${token}`)).toBe('44{"message":"unauthorized"}');
    expect(await handshake(`token=${token}`)).toMatch(/^40\{"sid":/);
  });
});
