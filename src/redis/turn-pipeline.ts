import type { ChainableCommander, Redis } from 'ioredis';

type Reply = [error: Error | null, result: unknown];

interface Entry {
  build: (pipeline: ChainableCommander) => void;
  resolve: (replies: Reply[]) => void;
  reject: (err: unknown) => void;
}

/**
 * Commands issued during one turn of the event loop go to Redis together, as one pipeline
 * sent when the turn's I/O callbacks are done (setImmediate): one write and one read for
 * everything the turn asked, instead of one of each per caller. On this kind of machine a
 * socket write costs far more than the bytes in it (bench/README.md, "Where the time
 * goes"), and under load one turn handles the frames of many sockets. Written here rather
 * than with ioredis' auto-pipelining, which flushes per callback (process.nextTick), not
 * per turn. Order is kept: the pipeline runs entries, and each entry's commands, as issued.
 *
 * Single Redis only: a cluster pipeline must stay on one node.
 */
export class TurnPipeline {
  private entries: Entry[] = [];
  private scheduled = false;

  constructor(private readonly client: Redis) {}

  /** `build` adds this caller's commands; resolves with their replies, in order. */
  submit(build: (pipeline: ChainableCommander) => void): Promise<Reply[]> {
    return new Promise((resolve, reject) => {
      this.entries.push({ build, resolve, reject });
      if (this.scheduled) return;
      this.scheduled = true;
      setImmediate(() => this.flush());
    });
  }

  private flush(): void {
    this.scheduled = false;
    const entries = this.entries;
    this.entries = [];
    const pipeline = this.client.pipeline();
    const counts: number[] = [];
    for (const entry of entries) {
      const before = pipeline.length;
      try {
        entry.build(pipeline);
      } catch (err) {
        entry.reject(err);
      }
      counts.push(pipeline.length - before);
    }
    pipeline.exec().then(
      (replies) => {
        let at = 0;
        entries.forEach((entry, i) => {
          entry.resolve((replies ?? []).slice(at, at + counts[i]));
          at += counts[i];
        });
      },
      (err: unknown) => entries.forEach((entry) => entry.reject(err)),
    );
  }
}
