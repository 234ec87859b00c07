/** How often one member's `read` events in one room go out at most. */
export const READ_EVENT_MS = 250;

interface Held {
  /** The newest position marked since the last event, if any. */
  seq: number | undefined;
}

/**
 * `read` events of one member in one room: the first goes out at once; marks within
 * READ_EVENT_MS after it wait for the window's end and go out as one event with the newest
 * position. Each event goes to every member of the room, and a client may mark one message at
 * a time: a probe moved one seq per mark at 228 marks a second in a 500-member room, 68,000
 * deliveries a second, within the general event budget. Positions only move forward, so the
 * newest is the one to tell. The ack is never held: only the news to the others is.
 *
 * Per instance, one timer per member and room while marks keep coming. Nothing here is needed
 * for correctness: members' positions are in `GET /chatrooms/:id` and the inbox.
 */
export class ReadAnnouncer {
  private readonly held = new Map<string, Held>();

  constructor(
    private readonly emit: (chatroomId: number, userId: number, seq: number) => void,
    private readonly windowMs = READ_EVENT_MS,
  ) {}

  announce(chatroomId: number, userId: number, seq: number): void {
    const key = `${chatroomId}:${userId}`;
    const held = this.held.get(key);
    if (held) {
      held.seq = Math.max(held.seq ?? 0, seq);
      return;
    }
    this.emit(chatroomId, userId, seq);
    this.hold(key, chatroomId, userId);
  }

  private hold(key: string, chatroomId: number, userId: number): void {
    const held: Held = { seq: undefined };
    this.held.set(key, held);
    setTimeout(() => {
      this.held.delete(key);
      if (held.seq === undefined) return;
      this.emit(chatroomId, userId, held.seq);
      this.hold(key, chatroomId, userId);
    }, this.windowMs).unref();
  }
}
