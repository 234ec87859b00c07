import type { TurnPipeline } from '../redis/turn-pipeline';
import type { AppendItem, AppendReply } from './scripts/append-message.script';

/** More than this many sends in one window go as several commands, in order. */
const MAX_BATCH = 256;

interface Batch {
  items: AppendItem[];
  waiters: { resolve: (reply: AppendReply) => void; reject: (err: unknown) => void }[];
}

/**
 * Single Redis: the appends of one write window (TurnPipeline: a turn of the event loop, or
 * SEND_LINGER_MS while busy) as one script call, written as the window closes, after every
 * other command of the window (a room's mark among them, which must land first). Replies
 * resolve in the order the sends came, in one tick, as one reply per send did.
 */
export class AppendBatcher {
  private open: Batch | undefined;

  constructor(
    private readonly turn: TurnPipeline,
    private readonly send: (items: readonly AppendItem[]) => Promise<AppendReply[]>,
  ) {}

  append(item: AppendItem): Promise<AppendReply> {
    let batch = this.open;
    if (batch && batch.items.length < MAX_BATCH) {
      this.turn.count();
    } else {
      batch = { items: [], waiters: [] };
      const opened = batch;
      // No window (the client is not ready): on its own, now, and ioredis refuses it or queues it.
      if (!this.turn.atClose(() => this.write(opened))) return this.send([item]).then((r) => r[0]);
      this.open = batch;
    }
    batch.items.push(item);
    return new Promise((resolve, reject) => batch.waiters.push({ resolve, reject }));
  }

  private write(batch: Batch): void {
    if (this.open === batch) this.open = undefined;
    this.send(batch.items).then(
      (replies) => batch.waiters.forEach((w, i) => w.resolve(replies[i])),
      (err: unknown) => batch.waiters.forEach((w) => w.reject(err)),
    );
  }
}
