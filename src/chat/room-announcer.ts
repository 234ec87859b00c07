/**
 * Announcements to a room (members arriving and leaving, coming online and going offline),
 * coalesced under load.
 *
 * Each announcement goes to every socket in the room, so N members arriving one by one cost
 * N² deliveries: 1,000 members joining one room after a deploy were ~500,000 events. Here a
 * room's announcements of one stream (timeline or presence) are throttled: the first one in
 * a quiet room goes out at once, exactly as before; the ones that come within the window
 * after it wait for the window's end and go out together, one event per run of the same
 * kind, naming every user of the run (`userIds`, see the protocol). A room that keeps busy
 * gets a longer window (doubled per flush of several users, up to `maxMs`; halved per flush
 * of one), so a storm costs each member an event every few seconds per room whatever the
 * number of arrivals.
 *
 * Per instance: each instance throttles the announcements of its own sockets. Nothing here
 * is needed for correctness: members REST and `sync` are the state, events only news.
 */
export interface Announcement {
  stream: string;
  /** Announcements of one kind coalesce with each other (joinRoom, leaveRoom, online, offline). */
  kind: string;
  userId: number;
}

/** Emits one event standing for `userIds` (length ≥ 1, in arrival order, no duplicates). */
export type Emit = (chatroomId: number, stream: string, kind: string, userIds: number[]) => void;

interface Throttle {
  openUntil: number;
  windowMs: number;
  pending: { kind: string; userId: number }[];
  timer: NodeJS.Timeout | null;
}

export class RoomAnnouncer {
  private readonly rooms = new Map<string, Throttle>();

  constructor(
    private readonly emit: Emit,
    readonly minMs = 250,
    readonly maxMs = 4000,
    private readonly now: () => number = Date.now,
  ) {}

  announce(chatroomId: number, a: Announcement): void {
    const key = `${a.stream}:${chatroomId}`;
    const t = this.rooms.get(key);
    if (!t || (t.pending.length === 0 && this.now() >= t.openUntil)) {
      this.emit(chatroomId, a.stream, a.kind, [a.userId]);
      this.rooms.set(key, this.open(key, chatroomId, a.stream, t ? t.windowMs : this.minMs));
      return;
    }
    t.pending.push({ kind: a.kind, userId: a.userId });
  }

  /** A window after an emit: what arrives meanwhile waits for its end. */
  private open(key: string, chatroomId: number, stream: string, windowMs: number): Throttle {
    const t: Throttle = { openUntil: this.now() + windowMs, windowMs, pending: [], timer: null };
    t.timer = setTimeout(() => this.flush(key, chatroomId, stream, t), windowMs);
    t.timer.unref();
    return t;
  }

  private flush(key: string, chatroomId: number, stream: string, t: Throttle): void {
    t.timer = null;
    if (this.rooms.get(key) !== t) return;
    if (t.pending.length === 0) {
      this.rooms.delete(key); // quiet again: the next announcement goes out at once
      return;
    }
    const crowded = t.pending.length > 1;
    for (const run of runs(t.pending)) this.emit(chatroomId, stream, run.kind, run.userIds);
    const windowMs = crowded ? Math.min(this.maxMs, t.windowMs * 2) : Math.max(this.minMs, t.windowMs / 2);
    this.rooms.set(key, this.open(key, chatroomId, stream, windowMs));
  }

  /** Rooms with a window open (for tests and diagnostics). */
  get size(): number {
    return this.rooms.size;
  }

  stop(): void {
    for (const t of this.rooms.values()) if (t.timer) clearTimeout(t.timer);
    this.rooms.clear();
  }
}

/** Consecutive announcements of one kind, each user once: order across kinds is kept. */
function runs(pending: { kind: string; userId: number }[]): { kind: string; userIds: number[] }[] {
  const out: { kind: string; userIds: number[]; seen: Set<number> }[] = [];
  for (const { kind, userId } of pending) {
    let run = out.at(-1);
    if (!run || run.kind !== kind) out.push((run = { kind, userIds: [], seen: new Set() }));
    if (!run.seen.has(userId)) {
      run.seen.add(userId);
      run.userIds.push(userId);
    }
  }
  return out.map(({ kind, userIds }) => ({ kind, userIds }));
}
