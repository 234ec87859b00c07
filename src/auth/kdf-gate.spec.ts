import { AppError } from '../common/errors';
import { KdfGate, KdfLeases } from './kdf-gate';

/** A unit of work that ends when the test says so. */
function pending() {
  let finish!: () => void;
  const done = new Promise<void>((resolve) => (finish = resolve));
  return { work: () => done, finish };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('KdfGate', () => {
  it('runs at most `slots` computations at once and queues the rest', async () => {
    const gate = new KdfGate(2, 10);
    const jobs = [pending(), pending(), pending()];
    const runs = jobs.map((j) => gate.run(j.work));
    await tick();
    expect([gate.active, gate.queued]).toEqual([2, 1]);
    jobs[0].finish();
    await runs[0];
    await tick();
    expect([gate.active, gate.queued]).toEqual([2, 0]); // the slot went to the waiter
    jobs[1].finish();
    jobs[2].finish();
    await Promise.all(runs);
    expect([gate.active, gate.queued]).toEqual([0, 0]);
  });

  it('starts waiters in arrival order', async () => {
    const gate = new KdfGate(1, 10);
    const first = pending();
    const order: number[] = [];
    const runs = [gate.run(first.work), ...[1, 2, 3].map((i) => gate.run(() => Promise.resolve(order.push(i))))];
    await tick();
    expect(order).toEqual([]);
    first.finish();
    await Promise.all(runs);
    expect(order).toEqual([1, 2, 3]);
  });

  it('refuses at once with RATE_LIMITED and retryAfterMs when the queue is full, without running the work', async () => {
    const gate = new KdfGate(2, 1);
    const jobs = [pending(), pending(), pending()];
    const runs = jobs.map((j) => gate.run(j.work));
    await tick();
    expect(gate.isFull()).toBe(true);
    const refused = jest.fn(() => Promise.resolve());
    const err = await gate.run(refused).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).getResponse()).toMatchObject({
      statusCode: 429,
      code: 'RATE_LIMITED',
      details: { retryAfterMs: expect.any(Number) },
    });
    expect(((err as AppError).details as { retryAfterMs: number }).retryAfterMs).toBeGreaterThan(0);
    expect(refused).not.toHaveBeenCalled();
    jobs.forEach((j) => j.finish());
    await Promise.all(runs);
    expect(gate.isFull()).toBe(false);
  });

  it('frees the slot when the work fails', async () => {
    const gate = new KdfGate(1, 0);
    await expect(gate.run(() => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    await expect(gate.run(() => Promise.resolve('next'))).resolves.toBe('next');
  });
});

describe('KdfLeases', () => {
  it('gives a key to one holder at a time, and takes it back once', () => {
    const leases = new KdfLeases();
    const release = leases.claim('user:1');
    expect(release).toBeDefined();
    expect(leases.claim('user:1')).toBeUndefined();
    expect(leases.claim('user:2')).toBeDefined(); // other accounts are not held up
    release!();
    const again = leases.claim('user:1');
    expect(again).toBeDefined();
    release!(); // a second call of the old release does not free the new holder's claim
    expect(leases.isHeld('user:1')).toBe(true);
    again!();
    expect(leases.isHeld('user:1')).toBe(false);
  });
});
