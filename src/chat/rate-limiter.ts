import { AppError, ErrorCode } from '../common/errors';

interface Bucket {
  tokens: number;
  at: number;
}

/**
 * Token bucket per key, in process memory: `ratePerSec` tokens refill per second up to
 * `burst`. Per instance by design: it protects this process's event loop and costs no round
 * trip; a user spread over N instances gets at most N times the rate.
 */
export class TokenBucketLimiter {
  private readonly buckets = new Map<number, Bucket>();

  constructor(
    private readonly ratePerSec: number,
    private readonly burst: number,
    private readonly now: () => number = Date.now,
    private readonly onLimited: () => void = () => {},
  ) {}

  /** Takes one token or throws RATE_LIMITED with how long to wait. */
  take(key: number): void {
    const t = this.now();
    const b = this.buckets.get(key) ?? { tokens: this.burst, at: t };
    b.tokens = Math.min(this.burst, b.tokens + ((t - b.at) / 1000) * this.ratePerSec);
    b.at = t;
    if (b.tokens < 1) {
      this.buckets.set(key, b);
      this.onLimited();
      const retryAfterMs = Math.ceil(((1 - b.tokens) / this.ratePerSec) * 1000);
      throw new AppError(ErrorCode.RateLimited, 'Too many messages; slow down', { retryAfterMs });
    }
    b.tokens -= 1;
    this.buckets.set(key, b);
    if (this.buckets.size > 100_000) this.prune(t);
  }

  /** Full buckets carry no information: drop them so memory follows active users only. */
  private prune(t: number): void {
    for (const [k, b] of this.buckets) {
      if (b.tokens + ((t - b.at) / 1000) * this.ratePerSec >= this.burst) this.buckets.delete(k);
    }
  }
}
