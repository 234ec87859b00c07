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
      if (rnd() < 0.35) o[k] = value(depth + 1);
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
    });
    const u = await createUser(t, 'fuzzer');
    const room = await createRoom(t, u);
    const s = await connect(t.url, u.token);
    const g = generator(42);
    let acked = 0;
    for (let i = 0; i < 400; i++) {
      const event = g.pick(EVENTS);
      const payload = g.value(0);
      // No callback: at most an `exception` event. Unknown events are ignored, as socket.io does.
      if (event === 'noSuchEvent' || g.rnd() < 0.2) {
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
