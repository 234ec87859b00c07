import type { Redis } from 'ioredis';

/**
 * Commands issued during one turn of the event loop go to Redis in one socket write: the
 * turn's first caller corks the connection's socket, and it is uncorked once the turn's I/O
 * callbacks are done (setImmediate). A socket write costs far more than the bytes in it, and
 * so do the Redis wake-up and the reply's read that come with it (README, Performance).
 * Under load one turn handles the frames of many sockets. Callers issue their commands on
 * the client as usual, so replies, errors and script loading are ioredis' own, per command.
 *
 * With `lingerMs`, the runs of several turns share a write while the connection is busy:
 * when the last window held more than one run and closed less than `lingerMs` ago, the next
 * one stays open for `lingerMs`. Otherwise a run leaves at the end of its turn as before, so
 * a quiet server, or one user's sends one after another (each waits for the last one's
 * reply), wait for nothing. While a window is open every command on the connection waits
 * with it, not only the runs.
 *
 * Written here rather than with an ioredis pipeline per turn (what this did before): a
 * pipeline object, built and torn down per turn, cost more main-thread CPU than the command
 * it carried when a turn holds one send (README, Performance). Nor with ioredis'
 * auto-pipelining, which flushes per callback (process.nextTick), not per turn. Order is
 * kept: one connection runs commands in the order they were written.
 *
 * Single Redis only: a cluster spreads one turn's commands over several connections.
 */
export class TurnPipeline {
  /** The open window: the corked socket and how many runs it holds. */
  private window: Window | undefined;
  /** The last window's runs and when it closed (performance.now()): whether the connection is busy. */
  private lastHeld = 0;
  private lastClosedAt = 0;

  /** `lingerMs` 0: one write per event-loop turn; more: see the class comment. */
  constructor(
    private readonly client: Redis,
    private readonly lingerMs = 0,
  ) {}

  /** Runs `send` now; the commands it issues on the client leave with the rest of its window's. */
  run<T>(send: (client: Redis) => Promise<T>): Promise<T> {
    const window = this.open();
    if (window) window.held++;
    return send(this.client);
  }

  /** For a caller that writes through someone else's code: what it writes now leaves with the rest. */
  hold(): void {
    this.open();
  }

  /**
   * Calls `write` as the open window closes, just before its write leaves, for a caller that
   * gathers the window's items into one command (AppendBatcher); counts as one run. False
   * when no window can open (the client is not ready): the caller writes now, on its own.
   */
  atClose(write: () => void): boolean {
    const window = this.open();
    if (!window) return false;
    window.held++;
    window.atClose.push(write);
    return true;
  }

  /** One more run in the open window (a caller adding to what an atClose writes). */
  count(): void {
    if (this.window) this.window.held++;
  }

  private open(): Window | undefined {
    if (this.window) return this.window;
    // Not ready: nothing to cork; ioredis queues the commands or refuses them, as the client
    // is configured (the main client refuses, so a send fails fast while Redis is away).
    const stream = this.client.status === 'ready' ? this.client.stream : undefined;
    if (!stream?.writable) return undefined;
    stream.cork();
    const window: Window = { stream, held: 0, atClose: [] };
    this.window = window;
    const busy = this.lastHeld > 1 && performance.now() - this.lastClosedAt < this.lingerMs;
    if (busy) setTimeout(() => this.flush(window), this.lingerMs);
    else setImmediate(() => this.flush(window));
    return window;
  }

  private flush(window: Window): void {
    this.window = undefined;
    this.lastHeld = window.held;
    this.lastClosedAt = performance.now();
    for (const write of window.atClose) write();
    window.stream.uncork(); // a socket that closed meanwhile ignores it
  }
}

interface Window {
  stream: Redis['stream'];
  held: number;
  atClose: (() => void)[];
}
