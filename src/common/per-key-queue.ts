import { AppError, ErrorCode } from './errors';

/**
 * Work of one key (say, a user) runs one at a time in this process, in arrival order, with
 * at most `maxQueued` waiting behind it; past that, RATE_LIMITED at once (429,
 * `details.retryAfterMs`). For work that holds a database connection while it waits on a
 * row lock of its key: a burst of one user's requests then holds one connection of the
 * pool, not all of them, and everyone else's requests still find one. Hand-written, as
 * KdfGate: a dozen lines, and p-limit and friends queue without bound and not per key.
 */
export class PerKeyQueue<K> {
  private readonly waiting = new Map<K, (() => void)[]>();
  /** Recent duration of one run (moving average), to say when to retry. */
  private averageMs = 10;

  constructor(
    readonly maxQueued: number,
    /** What is busy, for the refusal's message: "The server is busy with <what>: …". */
    private readonly what: string,
  ) {}

  /** Keys with work running (for tests and metrics). */
  get size(): number {
    return this.waiting.size;
  }

  async run<T>(key: K, work: () => Promise<T>): Promise<T> {
    await this.enter(key);
    const started = performance.now();
    try {
      return await work();
    } finally {
      this.averageMs = 0.8 * this.averageMs + 0.2 * (performance.now() - started);
      this.leave(key);
    }
  }

  /** A key with no entry is idle; an entry (even empty) means its work runs now. */
  private enter(key: K): Promise<void> {
    const queue = this.waiting.get(key);
    if (!queue) {
      this.waiting.set(key, []);
      return Promise.resolve();
    }
    if (queue.length >= this.maxQueued) {
      return Promise.reject(
        new AppError(ErrorCode.RateLimited, `The server is busy with ${this.what}: try again shortly`, {
          retryAfterMs: Math.ceil((queue.length + 1) * this.averageMs),
        }),
      );
    }
    return new Promise((resolve) => queue.push(resolve));
  }

  /** Hands the turn straight to the next waiter, so a newcomer cannot jump the queue. */
  private leave(key: K): void {
    const queue = this.waiting.get(key)!;
    const next = queue.shift();
    if (next) next();
    else this.waiting.delete(key);
  }
}
