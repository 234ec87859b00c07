import type { Message } from '@chat-backend/protocol';

/**
 * One joined room's delivery state: `lastSeq` is the last seq handed to the application.
 * Messages ahead of it wait in `buffer` until the gap before them is filled, so the
 * application sees every seq once, in order. `lastSeq` is undefined while the first join is
 * in flight: anything arriving then is buffered until the ack says where the room stands.
 */
export class RoomTracker {
  lastSeq: number | undefined;
  readonly buffer = new Map<number, Message>();
  syncing = false;
  syncAgain = false;
  gapTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(readonly chatroomId: number) {}

  /** Stores `m` unless it is already delivered or buffered; then returns what is now deliverable. */
  accept(m: Message): Message[] {
    if (this.lastSeq !== undefined && m.seq <= this.lastSeq) return [];
    if (!this.buffer.has(m.seq)) this.buffer.set(m.seq, m);
    return this.drain();
  }

  /** Places the room at `seq` (the join ack); buffered messages at or before it are dropped. */
  start(seq: number): Message[] {
    this.lastSeq = seq;
    for (const s of this.buffer.keys()) if (s <= seq) this.buffer.delete(s);
    return this.drain();
  }

  /** Replaces a buffered message by a newer version of it (an edit or tombstone). */
  update(m: Message): boolean {
    if (!this.buffer.has(m.seq)) return false;
    this.buffer.set(m.seq, m);
    return true;
  }

  get hasGap(): boolean {
    return this.buffer.size > 0;
  }

  private drain(): Message[] {
    if (this.lastSeq === undefined) return [];
    const out: Message[] = [];
    for (let next = this.buffer.get(this.lastSeq + 1); next; next = this.buffer.get(this.lastSeq + 1)) {
      this.buffer.delete(next.seq);
      this.lastSeq = next.seq;
      out.push(next);
    }
    return out;
  }
}
