import type { Redis } from 'ioredis';

/**
 * Commands issued during one turn of the event loop go to Redis in one socket write: the
 * turn's first caller corks the connection's socket, and it is uncorked once the turn's I/O
 * callbacks are done (setImmediate). A socket write costs far more than the bytes in it
 * (README, Performance), and under load one turn handles the frames of many sockets.
 * Callers issue their commands on the client as usual, so replies, errors and script
 * loading are ioredis' own, per command.
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

  constructor(private readonly client: Redis) {}

  /** Runs `send` now; the commands it issues on the client leave with the rest of this turn's. */
  run<T>(send: (client: Redis) => Promise<T>): Promise<T> {
    this.cork();
    return send(this.client);
  }

  private cork(): void {
    if (this.corked) return;
    // Not ready: nothing to cork; ioredis queues the commands or refuses them, as the client
    // is configured (the main client refuses, so a send fails fast while Redis is away).
    const stream = this.client.status === 'ready' ? this.client.stream : undefined;
    if (!stream?.writable) return;
    this.corked = true;
    stream.cork();
    setImmediate(() => {
      this.corked = false;
      stream.uncork(); // a socket that closed meanwhile ignores it
    });
  }
}
