/**
 * One dependency check shared by every caller of a process: the health endpoints are
 * public, so a flood of them must not become a flood of PostgreSQL and Redis round trips
 * (each probe held one of the pool's few connections, and every user's request queued
 * behind them).
 *
 * - Single flight: while a run is pending, callers get that same promise.
 * - Freshness: a settled answer is handed out until `freshMs` after its run *started*, so
 *   no caller is told about the dependency as it was more than `freshMs` ago (a run
 *   slower than that is stale on arrival: its waiters get it, the next caller starts anew).
 * - Failures (a rejection, or a value `failed` says is one) are kept only `failedFreshMs`
 *   (at most `freshMs`): a dependency that comes back is seen as soon as one that goes.
 */
export interface SharedResultOptions<T> {
  /** How long after its run started an answer is handed out again (the maximum staleness). */
  freshMs: number;
  /** The same for a failed answer; never more than `freshMs`. Default: `freshMs`. */
  failedFreshMs?: number;
  /** Whether a resolved value is a failure (a check reporting 'down'). */
  failed?: (value: T) => boolean;
  /** Milliseconds of a monotonic clock (tests pass a fake). */
  now?: () => number;
}

export class SharedResult<T> {
  private pending?: Promise<T>;
  private settled?: { result: Promise<T>; until: number };
  private readonly freshMs: number;
  private readonly failedFreshMs: number;
  private readonly now: () => number;

  constructor(
    private readonly run: () => Promise<T>,
    private readonly options: SharedResultOptions<T>,
  ) {
    this.freshMs = options.freshMs;
    this.failedFreshMs = Math.min(options.failedFreshMs ?? options.freshMs, options.freshMs);
    this.now = options.now ?? (() => performance.now());
  }

  /** The fresh answer, the one being computed, or a new run's. */
  get(): Promise<T> {
    if (this.settled && this.now() < this.settled.until) return this.settled.result;
    if (this.pending) return this.pending;
    const started = this.now();
    const settle = (failed: boolean) => {
      this.pending = undefined;
      this.settled = { result: pending, until: started + (failed ? this.failedFreshMs : this.freshMs) };
    };
    const pending: Promise<T> = Promise.resolve()
      .then(() => this.run())
      .then(
        (value) => {
          settle(this.options.failed?.(value) ?? false);
          return value;
        },
        (err: unknown) => {
          settle(true);
          throw err;
        },
      );
    // A cached rejection is handed to later callers, who handle it; this one is not a leak.
    pending.catch(() => undefined);
    this.pending = pending;
    return pending;
  }
}
