/**
 * Groups items into calls of `flush` at most once per `intervalMs`. An item arriving after
 * a quiet spell is flushed on the next tick (no added delay at low load); under load,
 * everything that arrives during the interval goes out together. The send path uses it to
 * put many messages into one queue job: the per-job cost (Redis scripts, the worker's
 * bookkeeping, one INSERT and its commit) then grows with the number of intervals, not of
 * messages (measured in bench/). Nobody waits for a flush but `drain`, so `flush` handles
 * its own failures; a rejection is swallowed here only so that it cannot kill the process.
 */
export class Batcher<T> {
  private items: T[] = [];
  private timer: NodeJS.Timeout | undefined;
  private lastFlushAt = 0;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    private readonly flushFn: (items: T[]) => Promise<void>,
    private readonly maxItems: number,
    private readonly intervalMs: number,
  ) {}

  add(item: T): void {
    this.items.push(item);
    if (this.items.length >= this.maxItems) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), Math.max(0, this.lastFlushAt + this.intervalMs - Date.now()));
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
    this.items = [];
    const done = this.flushFn(items).catch(() => undefined);
    this.inFlight.add(done);
    void done.finally(() => this.inFlight.delete(done));
  }
}
