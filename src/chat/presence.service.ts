import { Injectable, OnApplicationShutdown } from '@nestjs/common';
import { RedisKeys, ServerEvent, TimelineEvent } from '../common/constants';
import { AppConfig } from '../config/app-config';
import { PrismaService } from '../prisma/prisma.service';
import { RedisService } from '../redis/redis.service';
import { Broadcaster } from './broadcaster.service';
import { GracefulCounter } from './graceful-counter';

/**
 * Who is around, across instances: a user's sockets (`presence` to every room of the user)
 * and a user's sockets in each room's broadcast (`message {type: joinRoom | leaveRoom}` to
 * the room). Both are announced on real changes only: the first socket arriving, and the
 * last one gone for PRESENCE_GRACE_MS (see GracefulCounter), so reconnects and restarts are
 * silent.
 */
@Injectable()
export class PresenceService implements OnApplicationShutdown {
  private readonly counter: GracefulCounter;

  constructor(
    config: AppConfig,
    private readonly redis: RedisService,
    private readonly prisma: PrismaService,
    private readonly broadcaster: Broadcaster,
  ) {
    this.counter = new GracefulCounter(() => this.redis.client, config.presenceGraceMs);
  }

  async connected(userId: number): Promise<void> {
    if (await this.counter.enter(RedisKeys.presence(userId))) await this.announce(userId, true);
  }

  async disconnected(userId: number): Promise<void> {
    await this.counter.exit(RedisKeys.presence(userId), () => void this.announce(userId, false).catch(() => undefined));
  }

  /** A socket of the user joined the room's broadcast. */
  async joined(userId: number, chatroomId: number): Promise<void> {
    if (await this.counter.enter(RedisKeys.roomAttendance(chatroomId, userId))) {
      this.timeline(TimelineEvent.JoinRoom, userId, chatroomId);
    }
  }

  /** A socket of the user left the room's broadcast (leaveRoom, or its disconnect). */
  async left(userId: number, chatroomId: number): Promise<void> {
    await this.counter.exit(RedisKeys.roomAttendance(chatroomId, userId), () =>
      this.timeline(TimelineEvent.LeaveRoom, userId, chatroomId),
    );
  }

  onApplicationShutdown(): void {
    this.counter.stop();
  }

  private timeline(type: string, userId: number, chatroomId: number): void {
    this.broadcaster.toRoom(chatroomId, ServerEvent.Message, { type, chatroomId, userId });
  }

  private async announce(userId: number, online: boolean): Promise<void> {
    const rooms = await this.prisma.membership.findMany({ where: { userId }, select: { chatroomId: true } });
    for (const { chatroomId } of rooms) this.broadcaster.toRoom(chatroomId, ServerEvent.Presence, { userId, online });
  }
}
