import { Injectable } from '@nestjs/common';
import { RedisKeys, ServerEvent } from '../common/constants';
import { PrismaService } from '../prisma/prisma.service';
import { RedisService } from '../redis/redis.service';
import { Broadcaster } from './broadcaster.service';

/** A crashed instance's counts fade after a day instead of pinning users online forever. */
const PRESENCE_TTL_S = 24 * 3600;

/**
 * Online state across instances: a per-user socket counter in Redis. The first socket
 * (0 → 1) and the last one leaving (1 → 0) announce `presence` to every room of the user.
 */
@Injectable()
export class PresenceService {
  constructor(
    private readonly redis: RedisService,
    private readonly prisma: PrismaService,
    private readonly broadcaster: Broadcaster,
  ) {}

  async connected(userId: number): Promise<void> {
    const key = RedisKeys.presence(userId);
    const [[, count]] = (await this.redis.client.multi().incr(key).expire(key, PRESENCE_TTL_S).exec()) as [
      [unknown, number],
    ];
    if (count === 1) await this.announce(userId, true);
  }

  async disconnected(userId: number): Promise<void> {
    const count = await this.redis.client.decr(RedisKeys.presence(userId));
    if (count <= 0) {
      await this.redis.client.del(RedisKeys.presence(userId));
      await this.announce(userId, false);
    }
  }

  private async announce(userId: number, online: boolean): Promise<void> {
    const rooms = await this.prisma.membership.findMany({ where: { userId }, select: { chatroomId: true } });
    for (const { chatroomId } of rooms) this.broadcaster.toRoom(chatroomId, ServerEvent.Presence, { userId, online });
  }
}
