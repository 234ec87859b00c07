import { AppError } from '../common/errors';
import { type Bucket, takeToken, TokenBucketLimiter, tokenWait } from './rate-limiter';

describe('TokenBucketLimiter', () => {
  let now = 0;
  const limiter = () => new TokenBucketLimiter(2, 3, () => now);

  beforeEach(() => (now = 1_000_000));

  it('allows a burst, then refuses with RATE_LIMITED and the wait', () => {
    const l = limiter();
    for (let i = 0; i < 3; i++) l.take(7);
    let err: unknown;
    try {
      l.take(7);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).code).toBe('RATE_LIMITED');
    expect((err as AppError).details).toEqual({ retryAfterMs: 500 });
  });

  it('refills at the configured rate, up to the burst', () => {
    const l = limiter();
    for (let i = 0; i < 3; i++) l.take(1);
    now += 500; // one token
    expect(() => l.take(1)).not.toThrow();
    expect(() => l.take(1)).toThrow(AppError);
    now += 60_000; // long idle: back to the burst, not beyond
    for (let i = 0; i < 3; i++) l.take(1);
    expect(() => l.take(1)).toThrow(AppError);
  });

  it('lets costs known afterwards run into debt, which later checks wait out', () => {
    const l = limiter(); // 2 a second, burst 3
    l.check(7, 'busy');
    l.spend(7, 5); // more than the bucket held: 2 in debt
    let err: unknown;
    try {
      l.check(7, 'busy');
    } catch (e) {
      err = e;
    }
    expect((err as AppError).code).toBe('RATE_LIMITED');
    expect((err as AppError).message).toBe('busy');
    expect((err as AppError).details).toEqual({ retryAfterMs: 1500 }); // from -2 to 1 token
    now += 1000; // back to 0: still nothing to start on
    expect(() => l.check(7, 'busy')).toThrow(AppError);
    now += 500;
    expect(() => l.check(7, 'busy')).not.toThrow();
    expect(() => l.check(8, 'busy')).not.toThrow(); // another user
  });

  it('keeps users apart', () => {
    const l = limiter();
    for (let i = 0; i < 3; i++) l.take(1);
    expect(() => l.take(2)).not.toThrow();
  });

  it('reports each refusal (for chat_rate_limited_total), never a pass', () => {
    let refused = 0;
    const l = new TokenBucketLimiter(
      2,
      2,
      () => 0,
      () => refused++,
    );
    l.take(1);
    l.take(1);
    expect(() => l.take(1)).toThrow(AppError);
    expect(() => l.take(1)).toThrow(AppError);
    expect(refused).toBe(2);
  });
});

describe('retryAfterMs', () => {
  it('is rounded up, and never 0 while there is no token', () => {
    let now = 1_000_000;
    const l = new TokenBucketLimiter(3, 1, () => now);
    l.take(1);
    now += 1; // 0.003 tokens: 332.33 ms to go
    expect(() => l.take(1)).toThrow(expect.objectContaining({ details: { retryAfterMs: 333 } }));
    now += 333;
    expect(() => l.take(1)).not.toThrow();
    // A hair short of a token: told 1 ms, not 0 (which would read as "now").
    const b: Bucket = { tokens: 0.99995, at: 0 };
    expect(tokenWait(b, 50, 10, 0)).toBe(1);
    expect(takeToken(b, 50, 10, 0)).toBe(1);
    expect(b.tokens).toBe(0.99995); // refusing takes nothing
    expect(takeToken(b, 50, 10, 1)).toBe(0);
  });

  it('lets in a client that comes back exactly when told, whatever the rate (floating point included)', () => {
    // 0.142 tokens at 3 a second: 286 ms to go, and the refill then summed to 0.9999999999999999.
    const b: Bucket = { tokens: 0.14200000000000004, at: 0 };
    expect(takeToken(b, 3, 10, 0)).toBe(286);
    expect(takeToken(b, 3, 10, 286)).toBe(0);
    let seed = 7; // seeded, so a failure replays
    const next = () => ((seed = (seed * 48271) % 2147483647) - 1) / 2147483646;
    for (let rate = 1; rate <= 200; rate++) {
      const bucket: Bucket = { tokens: 2, at: 0 };
      let t = 0;
      for (let i = 0; i < 300; i++) {
        const wait = takeToken(bucket, rate, 2, t);
        if (wait) expect(takeToken(bucket, rate, 2, (t += wait))).toBe(0);
        t += Math.floor(next() * 40);
      }
    }
  });
});
