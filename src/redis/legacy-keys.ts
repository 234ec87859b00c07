import type { Logger } from '@nestjs/common';
import { LegacyRedisKeys, RedisKeys } from '../common/constants';
import Redis from 'ioredis';
import type { RedisService } from './redis.service';

/**
 * Renames the Redis keys of the layout before room hash tags, once, at boot: room keys were
 * `chat:<ns>:room:<id>:<rest>`, and the sweeper's set a plain SET. What must survive an
 * upgrade is what PostgreSQL does not have yet: seq counters (a counter that went back would
 * reuse seqs) and pending buffers (acked messages not stored yet; the sweeper re-queues
 * them, as their old jobs sit under the old queue prefix). Dedupe records and presence
 * counts are short-lived and start afresh. Recorded edits of queued messages
 * (`chat:<ns>:mutation:<id>`) are not needed: those versions patched the pending entry as
 * well, which is what the worker now stores; the records expire on their own.
 *
 * Single Redis only (a cluster never held the old layout), and only between stopping every
 * old instance and starting the new ones: old and new instances side by side would count
 * seqs on two counters. Safe to run from several starting instances at once.
 */
export async function migrateLegacyKeys(redis: RedisService, logger: Logger): Promise<number> {
  if (!(redis.client instanceof Redis)) return 0;
  const client = redis.client;
  await redis.ready();
  let moved = 0;
  const rename = async (from: string, to: string) => {
    const done = await client.renamenx(from, to).catch(() => 0); // another instance took it
    if (done) moved++;
    else if (await client.exists(from)) logger.warn(`legacy key ${from} kept: ${to} exists already`);
  };
  for await (const keys of client.scanStream({ match: LegacyRedisKeys.roomKeyPattern(), count: 1000 })) {
    for (const key of keys as string[]) {
      const old = LegacyRedisKeys.parse(key);
      if (!old) continue;
      if (old.rest === 'seq') await rename(key, RedisKeys.roomSeq(old.chatroomId));
      else if (old.rest === 'pending') await rename(key, RedisKeys.roomPending(old.chatroomId));
      else if (old.rest === 'counts') await rename(key, RedisKeys.roomCountsToken(old.chatroomId));
      else await client.del(key); // presence counts per room: rebuilt by the sockets that reconnect
    }
  }
  const rooms = await client.smembers(LegacyRedisKeys.pendingRooms()).catch(() => [] as string[]);
  if (rooms.length) {
    // Marked long ago: the sweeper visits each at once, and forgets those already empty.
    await client.zadd(RedisKeys.pendingRooms(), ...rooms.flatMap((r) => [0, r]));
    await client.del(LegacyRedisKeys.pendingRooms());
    moved += rooms.length;
  }
  if (moved) logger.log(`moved ${moved} Redis keys of the previous layout to room hash tags`);
  return moved;
}
