import { BeforeApplicationShutdown, Injectable, OnApplicationShutdown } from '@nestjs/common';
import type DataLoader from 'dataloader';
import { RedisKeys, ServerEvent, TimelineEvent } from '../common/constants';
import { turnLoader } from '../common/turn-loader';
import { AppConfig } from '../config/app-config';
import { PrismaService } from '../prisma/prisma.service';
import { RedisService } from '../redis/redis.service';
import { Broadcaster } from './broadcaster.service';
import { GracefulCounter } from './graceful-counter';
import { RoomAnnouncer } from './room-announcer';

const TIMELINE = 'timeline';
const PRESENCE = 'presence';
const ONLINE = 'online';
const OFFLINE = 'offline';
/** Grace of the sockets an instance drops as it shuts down (see beforeApplicationShutdown). */
export const RESTART_GRACE_MS = 120_000;

/**
 * Who is around, across instances: a user's sockets (`presence` to every room of the user)
 * and a user's sockets in each room's broadcast (`message {type: joinRoom | leaveRoom}` to
 * the room). Both are announced on real changes only: the first socket arriving, and the
 * last one gone for PRESENCE_GRACE_MS (see GracefulCounter), so reconnects and restarts are
 * silent. Many changes in one room at once (a deploy, a class logging in) are coalesced into
 * one event naming them all (`userIds`; see RoomAnnouncer), so N arrivals no longer cost N².
 */
@Injectable()
export class PresenceService implements BeforeApplicationShutdown, OnApplicationShutdown {
  private readonly counter: GracefulCounter;
  private readonly announcer: RoomAnnouncer;
  private readonly roomsOf: DataLoader<number, number[]>;
  private exitGraceMs: number;

  constructor(
    config: AppConfig,
    private readonly redis: RedisService,
    private readonly prisma: PrismaService,
    private readonly broadcaster: Broadcaster,
  ) {
    this.roomsOf = turnLoader((userIds) => this.loadRooms(userIds));
    this.exitGraceMs = config.presenceGraceMs;
    this.counter = new GracefulCounter(() => this.redis.client, config.presenceGraceMs);
    this.announcer = new RoomAnnouncer((chatroomId, stream, kind, userIds) =>
      stream === TIMELINE ? this.timeline(kind, chatroomId, userIds) : this.presence(kind, chatroomId, userIds),
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
      this.announcer.announce(chatroomId, { stream: TIMELINE, kind: TimelineEvent.JoinRoom, userId });
    }
  }

  /** A socket of the user left the room's broadcast (leaveRoom, or its disconnect). */
  async left(userId: number, chatroomId: number): Promise<void> {
    await this.counter.exit(
      RedisKeys.roomAttendance(chatroomId, userId),
      () => this.announcer.announce(chatroomId, { stream: TIMELINE, kind: TimelineEvent.LeaveRoom, userId }),
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
