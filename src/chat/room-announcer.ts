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
 *
 * But news must not contradict the state it ends on. A window holds an announcement while
 * other instances go on announcing at once: a user's `offline` held here (up to `maxMs`)
 * while the user came back on another instance, which said `online` meanwhile, reached the
 * room after that `online`, and nothing followed (members REST said online). So with a
 * `recheck`, every flush (the first announcement of a quiet room too) first asks whether
 * each of its announcements still holds, and emits only those: one question per flush
 * (the caller's recheck answers a flush with one Redis round trip), not one per
 * announcement. The emits follow the answer in the same tick; see PresenceService for
 * what is read and the window that remains. A flush waiting for its answer counts as an
 * open window: what arrives meanwhile waits for the next flush, so order is kept. A
 * recheck that fails emits everything, as before.
 */
export interface Announcement {
  stream: string;
  /** Announcements of one kind coalesce with each other (joinRoom, leaveRoom, online, offline). */
  kind: string;
  userId: number;
  /**
   * The caller read this from the state in the same turn (a counter's enter or settle just
   * answered): a quiet room emits it at once, unchecked, as before rechecks, so a socket's
   * own joinRoom still reaches the room before the join's ack. Held in a window, it is
   * checked like any other.
   */
  fresh?: boolean;
}

/** Emits one event standing for `userIds` (length ≥ 1, in arrival order, no duplicates). */
export type Emit = (chatroomId: number, stream: string, kind: string, userIds: number[]) => void;

export interface Pending {
  kind: string;
  userId: number;
}

/**
 * Which of a flush's announcements (of one room and stream, in arrival order, a user maybe
 * more than once) still hold now: `false` at an index drops that one. Rejecting (the state
 * could not be read) emits them all.
 */
export type Recheck = (chatroomId: number, stream: string, pending: readonly Pending[]) => Promise<readonly boolean[]>;

interface Throttle {
  openUntil: number;
  windowMs: number;
  pending: Pending[];
  timer: NodeJS.Timeout | null;
  /** A flush is waiting for its recheck: the window is still open. */
  checking: boolean;
}

export class RoomAnnouncer {
  private readonly rooms = new Map<string, Throttle>();

  private readonly minMs: number;
  private readonly maxMs: number;
  private readonly now: () => number;
  private readonly recheck?: Recheck;

  constructor(
    private readonly emit: Emit,
    options: {
      /** The shortest and longest window a room's announcements are held for. */
      minMs?: number;
      maxMs?: number;
      now?: () => number;
      /** Without one, flushes emit at once (synchronously) as they come. */
      recheck?: Recheck;
    } = {},
  ) {
    this.minMs = options.minMs ?? 250;
    this.maxMs = options.maxMs ?? 4000;
    this.now = options.now ?? Date.now;
    this.recheck = options.recheck;
  }

  announce(chatroomId: number, a: Announcement): void {
    const key = `${a.stream}:${chatroomId}`;
    const t = this.rooms.get(key);
    if (t && (t.checking || t.pending.length > 0 || this.now() < t.openUntil)) {
      t.pending.push({ kind: a.kind, userId: a.userId });
      return;
    }
    // A quiet room: out at once (after its recheck), then a window opens.
    if (t?.timer) clearTimeout(t.timer);
    const fresh: Throttle = {
      openUntil: 0,
      windowMs: t ? t.windowMs : this.minMs,
      pending: [],
      timer: null,
      checking: false,
    };
    this.rooms.set(key, fresh);
    const batch = [{ kind: a.kind, userId: a.userId }];
    if (a.fresh) {
      this.emitRuns(chatroomId, a.stream, batch);
      this.open(key, chatroomId, a.stream, fresh, fresh.windowMs);
    } else this.send(key, chatroomId, a.stream, fresh, batch, fresh.windowMs);
  }

  private flush(key: string, chatroomId: number, stream: string, t: Throttle): void {
    t.timer = null;
    if (this.rooms.get(key) !== t) return;
    if (t.pending.length === 0) {
      this.rooms.delete(key); // quiet again: the next announcement goes out at once
      return;
    }
    const batch = t.pending;
    t.pending = [];
    const crowded = batch.length > 1;
    const windowMs = crowded ? Math.min(this.maxMs, t.windowMs * 2) : Math.max(this.minMs, t.windowMs / 2);
    this.send(key, chatroomId, stream, t, batch, windowMs);
  }

  /** Emits what of `batch` still holds, then opens a window of `windowMs` on `t`. */
  private send(key: string, chatroomId: number, stream: string, t: Throttle, batch: Pending[], windowMs: number): void {
    if (!this.recheck) {
      this.emitRuns(chatroomId, stream, batch);
      this.open(key, chatroomId, stream, t, windowMs);
      return;
    }
    t.checking = true;
    let answer: Promise<readonly boolean[] | null>;
    try {
      answer = this.recheck(chatroomId, stream, batch);
    } catch {
      answer = Promise.resolve(null);
    }
    void answer
      .catch(() => null) // the state is unknown: emit as before rather than drop
      .then((holds) => {
        // Emits in the tick of the answer: no await between the read and the publish.
        if (this.rooms.get(key) !== t) return; // stopped meanwhile
        t.checking = false;
        this.emitRuns(chatroomId, stream, holds ? batch.filter((_, i) => holds[i] !== false) : batch);
        this.open(key, chatroomId, stream, t, windowMs);
      });
  }

  private emitRuns(chatroomId: number, stream: string, batch: Pending[]): void {
    for (const run of runs(batch)) this.emit(chatroomId, stream, run.kind, run.userIds);
  }

  /** A window after an emit: what arrives meanwhile waits for its end. */
  private open(key: string, chatroomId: number, stream: string, t: Throttle, windowMs: number): void {
    t.windowMs = windowMs;
    t.openUntil = this.now() + windowMs;
    t.timer = setTimeout(() => this.flush(key, chatroomId, stream, t), windowMs);
    t.timer.unref();
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
function runs(pending: Pending[]): { kind: string; userIds: number[] }[] {
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
