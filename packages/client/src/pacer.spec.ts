import { ChatError } from './errors.js';
import { Pacer, rateLimitWait } from './pacer.js';

/** A request the test answers by hand: `sent` lists the ids on the wire, in order. */
function wire() {
  const sent: number[] = [];
  const open = new Map<number, { ok: () => void; fail: (e: unknown) => void }>();
  const send = (id: number) => () =>
    new Promise<number>((resolve, reject) => {
      sent.push(id);
      open.set(id, { ok: () => resolve(id), fail: reject });
    });
  return {
    sent,
    send,
    answer: (id: number) => open.get(id)!.ok(),
    refuse: (id: number, e: unknown) => open.get(id)!.fail(e),
  };
}

const limited = (retryAfterMs: number) => new ChatError('RATE_LIMITED', 'slow down', { retryAfterMs });
const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('Pacer', () => {
  let now = 0;
  beforeEach(() => {
    now = 0;
    jest.useFakeTimers({ doNotFake: ['setImmediate', 'nextTick'] });
  });
  afterEach(() => jest.useRealTimers());
  const advance = async (ms: number) => {
    now += ms;
    jest.advanceTimersByTime(ms);
    await settle();
  };

  it('sends the burst at once, then at the rate, in the order asked, never more in flight than allowed', async () => {
    const { sent, send, answer } = wire();
    const pacer = new Pacer({ burst: 3, ratePerSec: 10, inFlight: 2 }, () => now);
    const done = [1, 2, 3, 4, 5].map((id) => pacer.run(send(id)));
    await settle();
    expect(sent).toEqual([1, 2]); // two in flight
    answer(1);
    answer(2);
    await settle();
    expect(sent).toEqual([1, 2, 3]); // the burst of three is spent
    answer(3);
    await advance(99);
    expect(sent).toEqual([1, 2, 3]); // a token every 100 ms
    await advance(1);
    expect(sent).toEqual([1, 2, 3, 4]);
    answer(4);
    await advance(100);
    answer(5);
    expect(await Promise.all(done)).toEqual([1, 2, 3, 4, 5]);
  });

  it('on RATE_LIMITED holds everything for retryAfterMs, resends the refused one first, then one at a time', async () => {
    const { sent, send, answer, refuse } = wire();
    const pacer = new Pacer({ burst: 100, ratePerSec: 100, inFlight: 4 }, () => now);
    const first = pacer.run(send(1));
    const rest = [2, 3, 4].map((id) => pacer.run(send(id)));
    await settle();
    expect(sent).toEqual([1, 2, 3, 4]);
    refuse(1, limited(500));
    await settle();
    answer(2);
    answer(3);
    answer(4);
    await advance(499);
    expect(sent).toEqual([1, 2, 3, 4]); // nothing before the time named
    await advance(1);
    expect(sent).toEqual([1, 2, 3, 4, 1]);
    const more = [5, 6].map((id) => pacer.run(send(id)));
    await advance(20);
    expect(sent).toEqual([1, 2, 3, 4, 1]); // careful: one in flight until the queue empties
    answer(1);
    await advance(20);
    expect(sent).toEqual([1, 2, 3, 4, 1, 5]);
    answer(5);
    await advance(20);
    answer(6);
    expect(await first).toBe(1);
    expect(await Promise.all([...rest, ...more])).toEqual([2, 3, 4, 5, 6]);
  });

  it('gives up after the retries allowed, and passes other errors through at once', async () => {
    const { send, refuse } = wire();
    const pacer = new Pacer({ retries: 1, ratePerSec: 1000 }, () => now);
    const refused = pacer.run(send(1));
    await settle();
    refuse(1, limited(10));
    await settle();
    await advance(10);
    refuse(1, limited(10));
    await expect(refused).rejects.toMatchObject({ code: 'RATE_LIMITED' });
    const failed = pacer.run(send(2));
    await advance(10);
    refuse(2, new ChatError('NOT_FOUND', 'no such room'));
    await expect(failed).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('reset fails what waits and starts the next connection with a full burst', async () => {
    const { sent, send, answer } = wire();
    const pacer = new Pacer({ burst: 1, ratePerSec: 1, inFlight: 1 }, () => now);
    void pacer.run(send(1));
    const waiting = pacer.run(send(2));
    await settle();
    pacer.reset(new ChatError('UNAVAILABLE', 'Not connected'));
    await expect(waiting).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    answer(1);
    await settle();
    const next = pacer.run(send(3));
    await settle();
    expect(sent).toEqual([1, 3]);
    answer(3);
    expect(await next).toBe(3);
  });

  it('reads retryAfterMs only from a RATE_LIMITED with a sane wait', () => {
    expect(rateLimitWait(limited(250))).toBe(250);
    expect(rateLimitWait(limited(-1))).toBeUndefined();
    expect(rateLimitWait(limited(60_001))).toBeUndefined();
    expect(rateLimitWait(new ChatError('RATE_LIMITED', 'x', { retryAfterMs: '5' }))).toBeUndefined();
    expect(rateLimitWait(new ChatError('FORBIDDEN', 'x', { retryAfterMs: 5 }))).toBeUndefined();
    expect(rateLimitWait(new Error('x'))).toBeUndefined();
  });
});
