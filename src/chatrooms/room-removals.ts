import { Injectable, Logger } from '@nestjs/common';
import { RedisKeys } from '../common/constants';
import { RedisService } from '../redis/redis.service';
import { REMOVAL_WINDOW_MS } from './membership.service';

/**
 * The Redis side of member changes: the room's removed set (RedisKeys.roomRemoved), whose
 * members' sends the append script refuses on every instance, whatever an instance's
 * membership cache still says. ChatroomsService calls both methods inside the member
 * change's transaction, holding the room's lock, so the set changes in the order the
 * members do.
 */
@Injectable()
export class RoomRemovals {
  private readonly logger = new Logger(RoomRemovals.name);

  constructor(private readonly redis: RedisService) {}

  /**
   * The removed user goes into the room's removed set: once the removal answers, none of
   * the user's sends is accepted, not only once the relay has evicted the caches (a few ms
   * later, or never if it is lost). Kept REMOVAL_WINDOW_MS, longer than a cached "member"
   * answer can outlive the removal; older entries go as the set is written.
   *
   * The last step of the removal's transaction, holding the room's lock, as additions
   * forget removals (forget): after the commit, an addition's ZREM could land after the
   * next removal's ZADD and let the removed user through. A failure fails the removal
   * (nothing is committed; UNAVAILABLE, worth a retry): answered as done without the entry,
   * the user could send for as long as another instance's cache lasted, as the relay goes
   * through the same Redis and is likely lost too. Should the commit itself fail after
   * this, the user, still a member, cannot send for the window: the safe side.
   */
  async mark(chatroomId: number, userId: number): Promise<void> {
    const key = RedisKeys.roomRemoved(chatroomId);
    const now = Date.now();
    // One MULTI on the room's slot (all one key): trim, add, and keep the key no longer than needed.
    const replies = await this.redis.client
      .multi()
      .zremrangebyscore(key, '-inf', `(${now - REMOVAL_WINDOW_MS}`)
      .zadd(key, now, userId)
      .pexpire(key, REMOVAL_WINDOW_MS)
      .exec();
    const failed = replies ? replies.find(([err]) => err)?.[0] : new Error('MULTI aborted');
    if (failed) throw failed;
  }

  /**
   * New members leave the room's removed set: one removed lately and added back can send at
   * once. In the adding transaction, after the insert (see mark for the order). A failure is
   * logged, not thrown: the addition stands, and a user removed in the last
   * REMOVAL_WINDOW_MS stays unable to send until that lapses, the safe side; refusing the
   * addition instead would make every member change wait on Redis.
   */
  async forget(chatroomId: number, userIds: number[]): Promise<void> {
    try {
      await this.redis.client.zrem(RedisKeys.roomRemoved(chatroomId), ...userIds);
    } catch (err) {
      this.logger.warn(
        `Room ${chatroomId}: could not clear recent removals of users ${userIds.join(', ')} (${(err as Error).message}); ` +
          'they may be refused sends for up to the removal window',
      );
    }
  }
}
