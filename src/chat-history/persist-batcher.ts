/**
 * Groups items into calls of `flush` at most once per `intervalMs`, and settles each
 * caller's promise with its call's outcome. An item arriving after a quiet spell is flushed
 * on the next tick (no added latency at low load); under load, everything that arrives
 * during the interval goes out together. The send path uses it to put many messages into
 * one queue job: the per-job cost (Redis scripts, the worker's bookkeeping) then grows with
 * the number of intervals, not of messages (measured in bench/).
 */
export class Batcher<T> {
  private items: T[] = [];
  private waiters: { resolve: () => void; reject: (e: unknown) => void }[] = [];
  private timer: NodeJS.Timeout | undefined;
  private lastFlushAt = 0;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    private readonly flushFn: (items: T[]) => Promise<void>,
    private readonly maxItems: number,
    private readonly intervalMs: number,
  ) {}

  add(item: T): Promise<void> {
    return new Promise((resolve, reject) => {
      this.items.push(item);
      this.waiters.push({ resolve, reject });
      if (this.items.length >= this.maxItems) this.flush();
      else this.timer ??= setTimeout(() => this.flush(), Math.max(0, this.lastFlushAt + this.intervalMs - Date.now()));
    });
  }

  /** Flushes what is waiting and resolves once every flush started so far has settled. */
  async drain(): Promise<void> {
    this.flush();
    await Promise.allSettled([...this.inFlight]);
  }

  private flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.items.length) return;
    this.lastFlushAt = Date.now();
    const items = this.items;
    const waiters = this.waiters;
    this.items = [];
    this.waiters = [];
    const done = this.flushFn(items).then(
      () => waiters.forEach((w) => w.resolve()),
      (err: unknown) => waiters.forEach((w) => w.reject(err)),
    );
    this.inFlight.add(done);
    void done.finally(() => this.inFlight.delete(done));
  }
}
