import { AppError } from '../common/errors';
import { TokenBucketLimiter } from './rate-limiter';

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
