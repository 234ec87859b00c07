import { AppError, ErrorCode } from '../common/errors';

/** One token bucket's state: tokens left, as of `at` (ms). */
export interface Bucket {
  tokens: number;
  at: number;
}

/**
 * How far below a whole token a bucket may be and still give one: the refill is floating
 * point, so a bucket read exactly `retryAfterMs` after a refusal can hold 0.9999999999999999
 * tokens, and a client that waited as told would be refused again.
 */
const TOKEN_EPSILON = 1e-9;

/**
 * Refills `b` to time `t` and takes a token: 0 when one was there, else how many ms until
 * one will be. The arithmetic of every bucket here.
 */
export function takeToken(b: Bucket, ratePerSec: number, burst: number, t: number): number {
  const wait = tokenWait(b, ratePerSec, burst, t);
  if (!wait) b.tokens -= 1;
  return wait;
}

/**
 * Refills `b` to time `t` and says how many whole ms until it holds a token (0: it does now),
 * taking nothing. Rounded up, and never 0 while there is none: this is the `retryAfterMs`
 * clients are told, and one that comes back after it must be let in.
 */
export function tokenWait(b: Bucket, ratePerSec: number, burst: number, t: number): number {
  refill(b, ratePerSec, burst, t);
  if (b.tokens >= 1 - TOKEN_EPSILON) return 0;
  return Math.max(1, Math.ceil(((1 - b.tokens) / ratePerSec) * 1000));
}

/**
 * A bucket per key, made at the key's first take, for budgets whose breach ends the key (a
 * connection cut): `exceeded` answers true once, at the first take past the budget, and false
 * for every take after it (frames of a chunk already read still arrive after the cut).
 */
export class CutBudget<K extends object> {
  private readonly buckets = new WeakMap<K, Bucket & { cut?: true }>();

  constructor(
    readonly burst: number,
    readonly perSec: number,
  ) {}

  exceeded(key: K, now = Date.now()): boolean {
    let bucket = this.buckets.get(key);
    if (!bucket) this.buckets.set(key, (bucket = { tokens: this.burst, at: now }));
    if (bucket.cut || takeToken(bucket, this.perSec, this.burst, now) === 0) return false;
    bucket.cut = true;
    return true;
  }
}

/** Adds what `b` earned since its last reading, up to `burst`. */
function refill(b: Bucket, ratePerSec: number, burst: number, t: number): void {
  b.tokens = Math.min(burst, b.tokens + ((t - b.at) / 1000) * ratePerSec);
  b.at = t;
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
    const retryAfterMs = takeToken(b, this.ratePerSec, this.burst, t);
    this.buckets.set(key, b);
    if (retryAfterMs) {
      this.onLimited();
      throw new AppError(ErrorCode.RateLimited, 'Too many messages; slow down', { retryAfterMs });
    }
    if (this.buckets.size > 100_000) this.prune(t);
  }

  /**
   * For work whose cost is known only once done: throws RATE_LIMITED (with `message`) while
   * the key's bucket is empty or in debt, else lets the work start; `spend` then takes its
   * cost, into debt if need be, which later calls wait out.
   */
  check(key: number, message: string): void {
    const t = this.now();
    const b = this.refilled(key, t);
    if (b.tokens > 0) return;
    this.onLimited();
    throw new AppError(ErrorCode.RateLimited, message, {
      retryAfterMs: Math.ceil(((1 - b.tokens) / this.ratePerSec) * 1000),
    });
  }

  spend(key: number, n: number): void {
    const t = this.now();
    this.refilled(key, t).tokens -= n;
    if (this.buckets.size > 100_000) this.prune(t);
  }

  private refilled(key: number, t: number): Bucket {
    const b = this.buckets.get(key) ?? { tokens: this.burst, at: t };
    refill(b, this.ratePerSec, this.burst, t);
    this.buckets.set(key, b);
    return b;
  }

  /** Full buckets carry no information: drop them so memory follows active users only. */
  private prune(t: number): void {
    for (const [k, b] of this.buckets) {
      if (b.tokens + ((t - b.at) / 1000) * this.ratePerSec >= this.burst) this.buckets.delete(k);
    }
  }
}
