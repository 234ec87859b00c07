/**
 * Groups items that arrive within a few milliseconds into one call of `flush`, and settles
 * each caller's promise with that call's outcome. The send path uses it to put many messages
 * into one queue job: one Redis round trip per batch instead of per message, which is what
 * keeps delivery latency flat under load (measured in bench/).
 */
export class Batcher<T> {
  private items: T[] = [];
  private waiters: { resolve: () => void; reject: (e: unknown) => void }[] = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    private readonly flushFn: (items: T[]) => Promise<void>,
    private readonly maxItems = 200,
    private readonly maxDelayMs = 5,
  ) {}

  add(item: T): Promise<void> {
    return new Promise((resolve, reject) => {
      this.items.push(item);
      this.waiters.push({ resolve, reject });
      if (this.items.length >= this.maxItems) this.flush();
      else this.timer ??= setTimeout(() => this.flush(), this.maxDelayMs);
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
