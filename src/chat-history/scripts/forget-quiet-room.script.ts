import { RedisScript } from '../../redis/redis-script';

/**
 * Drops a room from the sweeper's marks unless a sender marked it after `cutoffMs`. The
 * caller has seen the room's buffer empty; a sender that appended since then had marked the
 * room less than a second before (PendingMessageStore.markDue), far after the cutoff,
 * so a room with a new message is never forgotten. Replies 1 when dropped.
 */
export const forgetQuietRoomScript = new RedisScript<'marks', [chatroomId: number, cutoffMs: number], 0 | 1>(
  'chatForgetQuietRoom',
  ['marks'],
  `
local marksKey = KEYS[1]
local room, cutoffMs = ARGV[1], tonumber(ARGV[2])
local markedAt = redis.call('ZSCORE', marksKey, room)
if markedAt and tonumber(markedAt) < cutoffMs then
  redis.call('ZREM', marksKey, room)
  return 1
end
return 0
`,
);
