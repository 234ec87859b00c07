/**
 * Work of one key runs one after another, in the order it was asked for: each starts once
 * the one before it settled, whatever its outcome. Unbounded, with no refusal, for callers
 * whose input is bounded already (a user's sends by the send budget, a socket's events by
 * the event budget); PerKeyQueue is the bounded one, for work that holds a database
 * connection while it waits. A key whose work is all done takes no memory.
 */
export class InTurn<K> {
  private readonly tails = new Map<K, Promise<void>>();

  run<T>(key: K, work: () => Promise<T>): Promise<T> {
    const before = this.tails.get(key);
    const run = before ? before.then(work) : work();
    const tail = run.then(settled, settled);
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return run;
  }

  /** Settles once the work asked for so far has (for a graceful stop). */
  async idle(): Promise<void> {
    await Promise.all(this.tails.values());
  }
}

const settled = (): undefined => undefined;
