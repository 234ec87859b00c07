import type { Redis } from 'ioredis';

/**
 * Commands issued during one turn of the event loop go to Redis in one socket write: the
 * turn's first caller corks the connection's socket, and it is uncorked once the turn's I/O
 * callbacks are done (setImmediate), or `lingerMs` later when that is set, so that the sends
 * of several turns share the write. A socket write costs far more than the bytes in it
 * (README, Performance), and so does the Redis wake-up and the reply's read that come with
 * it. Under load one turn handles the frames of many sockets; at a few sends per turn, the
 * linger is what batches them. Callers issue their commands on the client as usual, so
 * replies, errors and script loading are ioredis' own, per command. While corked, every
 * command on the connection waits with them, not only the callers'.
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
  private corked = false;

  /** `lingerMs` 0: one write per event-loop turn; more: one per window opened by a command. */
  constructor(
    private readonly client: Redis,
    private readonly lingerMs = 0,
  ) {}

  /** Runs `send` now; the commands it issues on the client leave with the rest of this turn's. */
  run<T>(send: (client: Redis) => Promise<T>): Promise<T> {
    this.cork();
    return send(this.client);
  }

  /** For a caller that writes through someone else's code: what it writes this turn leaves with the rest. */
  hold(): void {
    this.cork();
  }

  private cork(): void {
    if (this.corked) return;
    // Not ready: nothing to cork; ioredis queues the commands or refuses them, as the client
    // is configured (the main client refuses, so a send fails fast while Redis is away).
    const stream = this.client.status === 'ready' ? this.client.stream : undefined;
    if (!stream?.writable) return;
    this.corked = true;
    stream.cork();
    const flush = () => {
      this.corked = false;
      stream.uncork(); // a socket that closed meanwhile ignores it
    };
    if (this.lingerMs > 0) setTimeout(flush, this.lingerMs);
    else setImmediate(flush);
  }
}
