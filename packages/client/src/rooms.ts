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
  /** Edits and tombstones of messages not received yet: applied when the message arrives. */
  private readonly updates = new Map<number, Message>();
  syncing = false;
  syncAgain = false;
  gapTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(readonly chatroomId: number) {}

  /** Stores `m` unless it is already delivered or buffered; then returns what is now deliverable. */
  accept(m: Message): Message[] {
    if (this.lastSeq !== undefined && m.seq <= this.lastSeq) return [];
    if (!this.buffer.has(m.seq)) {
      this.buffer.set(m.seq, newer(this.updates.get(m.seq), m));
      this.updates.delete(m.seq);
    }
    return this.drain();
  }

  /** Places the room at `seq` (the join ack); buffered messages at or before it are dropped. */
  start(seq: number): Message[] {
    this.lastSeq = seq;
    for (const s of this.buffer.keys()) if (s <= seq) this.buffer.delete(s);
    for (const s of this.updates.keys()) if (s <= seq) this.updates.delete(s);
    return this.drain();
  }

  /**
   * A newer version (edit or tombstone) of a message not delivered yet: it replaces the
   * buffered copy, or waits for the copy a sync will bring (which may predate it).
   */
  update(m: Message): void {
    const buffered = this.buffer.get(m.seq);
    if (buffered) this.buffer.set(m.seq, newer(buffered, m));
    else this.updates.set(m.seq, newer(this.updates.get(m.seq), m));
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

/** Of two versions of one message: a tombstone wins, then the later edit. */
function newer(a: Message | undefined, b: Message): Message {
  if (!a) return b;
  if (a.deleted || b.deleted) return a.deleted ? a : b;
  return (a.editedAt ?? '') > (b.editedAt ?? '') ? a : b;
}
