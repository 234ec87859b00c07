import { BeforeApplicationShutdown, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import type DataLoader from 'dataloader';
import { RedisKeys, ServerEvent, TimelineEvent } from '../common/constants';
import { turnLoader } from '../common/turn-loader';
import { AppConfig } from '../config/app-config';
import { PrismaService } from '../prisma/prisma.service';
import { RedisService } from '../redis/redis.service';
import { Broadcaster } from './broadcaster.service';
import { GracefulCounter } from './graceful-counter';
import { Pending, RoomAnnouncer } from './room-announcer';

const TIMELINE = 'timeline';
const PRESENCE = 'presence';
const ONLINE = 'online';
const OFFLINE = 'offline';
/** Grace of the sockets an instance drops as it shuts down (see beforeApplicationShutdown). */
export const RESTART_GRACE_MS = 120_000;
/** Counter keys a flush recheck reads per batch (one pipeline): a storm's flushes of one turn. */
const RECHECK_BATCH = 5000;

/**
 * Who is around, across instances: a user's sockets (`presence` to every room of the user)
 * and a user's sockets in each room's broadcast (`message {type: joinRoom | leaveRoom}` to
 * the room). Both are announced on real changes only: the first socket arriving, and the
 * last one gone for PRESENCE_GRACE_MS (see GracefulCounter), so reconnects and restarts are
 * silent. Many changes in one room at once (a deploy, a class logging in) are coalesced into
 * one event naming them all (`userIds`; see RoomAnnouncer), so N arrivals no longer cost N².
 *
 * An announcement a window held may be stale when it goes out: the user came back (or left)
 * on another instance meanwhile, and that instance, whose window was not open, already said
 * so. Each flush therefore rereads the counters of its users (`stillHold`) and drops what
 * they contradict, so the room's last word on a user is the current one.
 */
@Injectable()
export class PresenceService implements BeforeApplicationShutdown, OnApplicationShutdown {
  private readonly counter: GracefulCounter;
  private readonly announcer: RoomAnnouncer;
  private readonly roomsOf: DataLoader<number, number[]>;
  private exitGraceMs: number;
  /** Counter hashes (`n`, `g`) by key, read for the flushes of one turn at once; null: unknown. */
  private readonly counts: DataLoader<string, (string | null)[] | null>;
  private readonly logger = new Logger(PresenceService.name);
  private lastRecheckWarn = 0;

  constructor(
    config: AppConfig,
    private readonly redis: RedisService,
    private readonly prisma: PrismaService,
    private readonly broadcaster: Broadcaster,
  ) {
    this.roomsOf = turnLoader((userIds) => this.loadRooms(userIds));
    this.exitGraceMs = config.presenceGraceMs;
    this.counter = new GracefulCounter(() => this.redis.client, config.presenceGraceMs);
    this.counts = turnLoader((keys) => this.readCounts(keys), RECHECK_BATCH);
    this.announcer = new RoomAnnouncer(
      (chatroomId, stream, kind, userIds) =>
        stream === TIMELINE ? this.timeline(kind, chatroomId, userIds) : this.presence(kind, chatroomId, userIds),
      { recheck: (chatroomId, stream, pending) => this.stillHold(chatroomId, stream, pending) },
    );
  }

  async connected(userId: number): Promise<void> {
    if (await this.counter.enter(RedisKeys.presence(userId))) await this.announce(userId, true);
  }

  /**
   * This instance is shutting down: the sockets it drops now come back within its restart
   * (or to another instance), so their departures get RESTART_GRACE_MS. A restart of an
   * instance with 10,000 sockets takes longer than the usual grace for the last of them to
   * be back (bench, reconnect scenario), and each one announced as new cost its rooms a
   * joinRoom and a presence event to every member, which slowed the rest further.
   */
  beforeApplicationShutdown(): void {
    if (this.counter.graceMs > 0) this.exitGraceMs = Math.max(this.counter.graceMs, RESTART_GRACE_MS);
  }

  async disconnected(userId: number): Promise<void> {
    await this.counter.exit(
      RedisKeys.presence(userId),
      () => void this.announce(userId, false).catch(() => undefined),
      this.exitGraceMs,
    );
  }

  /** A socket of the user joined the room's broadcast. */
  async joined(userId: number, chatroomId: number): Promise<void> {
    if (await this.counter.enter(RedisKeys.roomAttendance(chatroomId, userId))) {
      this.announcer.announce(chatroomId, { stream: TIMELINE, kind: TimelineEvent.JoinRoom, userId, fresh: true });
    }
  }

  /** A socket of the user left the room's broadcast (leaveRoom, or its disconnect). */
  async left(userId: number, chatroomId: number): Promise<void> {
    await this.counter.exit(
      RedisKeys.roomAttendance(chatroomId, userId),
      () =>
        this.announcer.announce(chatroomId, { stream: TIMELINE, kind: TimelineEvent.LeaveRoom, userId, fresh: true }),
      this.exitGraceMs,
    );
  }

  onApplicationShutdown(): void {
    this.counter.stop();
    this.announcer.stop();
  }

  /** `userIds` only when the event stands for several users (additive to the v1 shape). */
  private timeline(type: string, chatroomId: number, userIds: number[]): void {
    const event = { type, chatroomId, userId: userIds[0], ...(userIds.length > 1 && { userIds }) };
    this.broadcaster.toRoom(chatroomId, ServerEvent.Message, event);
  }

  private presence(kind: string, chatroomId: number, userIds: number[]): void {
    const event = { userId: userIds[0], online: kind === ONLINE, ...(userIds.length > 1 && { userIds }) };
    this.broadcaster.toRoom(chatroomId, ServerEvent.Presence, event);
  }

  private async announce(userId: number, online: boolean): Promise<void> {
    const rooms = await this.roomsOf.load(userId);
    const kind = online ? ONLINE : OFFLINE;
    for (const chatroomId of rooms) this.announcer.announce(chatroomId, { stream: PRESENCE, kind, userId });
  }

  /**
   * Which announcements of a flush still hold: `online`/`joinRoom` for a user who is present
   * now, `offline`/`leaveRoom` for one who is not, by the counter the announcement came from
   * (RedisKeys.presence, or RedisKeys.roomAttendance for the room's timeline).
   *
   * Present is GracefulCounter.present: sockets counted (`n` > 0), or the last one gone less
   * than the grace ago (`g` > now), what members REST reports as online. A user within grace
   * has not gone yet: `offline` is announced only after SETTLE deleted the hash at the
   * grace's end, so a hash in grace at a flush comes from a later exit, whose own grace
   * timer announces `offline` if it lapses. An `offline` for them is dropped, an `online`
   * kept. A missing hash (settled, or never entered) is absent.
   *
   * One round trip per flush, and fewer: the flushes of one turn share one read (turnLoader;
   * a user coming online announces to every room of theirs in one turn), each key once; on a
   * cluster one per node, in parallel (RedisService.each). The first announcement of a quiet
   * room is checked too: a presence one went through a PostgreSQL query (its user's rooms)
   * since the counter said so, time enough for the user to come back elsewhere. It costs
   * its announcement a turn and a round trip, shared with the turn's others.
   *
   * The emits follow the reply in the same tick (RoomAnnouncer), so what remains is the time
   * between Redis running the read and this instance's publish reaching Redis: the reply's
   * way back, the rest of the event-loop turn that reads it, the publish's way there. A
   * change on another instance that executes and is published within that (its ENTER, rooms
   * query, own recheck and publish all in between: some milliseconds at the least) can still
   * be overtaken by this stale emit; a stalled event loop here (a GC pause while the reply
   * waits unread) widens it by the stall.
   *
   * Redis unreadable: every announcement holds (emitted as before), one warning per 10 s.
   */
  private async stillHold(chatroomId: number, stream: string, pending: readonly Pending[]): Promise<boolean[]> {
    const keyOf = (userId: number) =>
      stream === TIMELINE ? RedisKeys.roomAttendance(chatroomId, userId) : RedisKeys.presence(userId);
    const users = [...new Set(pending.map((p) => p.userId))];
    const fields = await this.counts.loadMany(users.map(keyOf));
    const now = Date.now();
    const present = new Map<number, boolean>();
    users.forEach((userId, i) => {
      const f = fields[i];
      if (Array.isArray(f)) present.set(userId, GracefulCounter.present(f, now));
    });
    return pending.map(({ kind, userId }) => {
      const here = present.get(userId);
      if (here === undefined) return true; // unknown
      return here === (kind === ONLINE || kind === TimelineEvent.JoinRoom);
    });
  }

  /** `n` and `g` of each counter key: one pipeline (per node on a cluster); null for all if Redis fails. */
  private async readCounts(keys: readonly string[]): Promise<((string | null)[] | null)[]> {
    const unique = [...new Set(keys)];
    try {
      const replies = await this.redis.each(unique, (c, key) => c.hmget(key, 'n', 'g'));
      const byKey = new Map(unique.map((key, i) => [key, replies[i]]));
      return keys.map((key) => byKey.get(key) ?? null);
    } catch (err) {
      const now = Date.now();
      if (now - this.lastRecheckWarn >= 10_000) {
        this.lastRecheckWarn = now;
        this.logger.warn(`presence recheck failed, announcing unchecked: ${(err as Error).message}`);
      }
      return keys.map(() => null);
    }
  }

  /** The rooms of the users who came online (or went offline) in one turn: one query. */
  private async loadRooms(userIds: readonly number[]): Promise<number[][]> {
    const rows = await this.prisma.membership.findMany({
      where: { userId: { in: [...new Set(userIds)] } },
      select: { userId: true, chatroomId: true },
    });
    const byUser = new Map<number, number[]>();
    for (const r of rows) {
      const rooms = byUser.get(r.userId);
      if (rooms) rooms.push(r.chatroomId);
      else byUser.set(r.userId, [r.chatroomId]);
    }
    return userIds.map((id) => byUser.get(id) ?? []);
  }
}
