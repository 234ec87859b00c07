import { RedisScript } from '../../redis/redis-script';

/**
 * Applies an edit, retraction or moderation to a message's pending entry, if it is still
 * queued: atomically, so that the persistence worker either read the entry before (and
 * then cannot remove the new bytes, see PendingMessageStore.removeStored) or reads the
 * patched one. A retraction is final: a later edit neither un-deletes nor restores content,
 * and a tombstone keeps its first deletedAt. Replies 1 if the entry was patched, 0 if the
 * message is not queued (stored already: the caller updates the row).
 */
export const patchPendingScript = new RedisScript<'pending', [seq: number, patch: string], 0 | 1>(
  'chatPatchPending',
  ['pending'],
  `
local pendingKey = KEYS[1]
local seq, patch = ARGV[1], cjson.decode(ARGV[2])
local items = redis.call('ZRANGEBYSCORE', pendingKey, seq, seq)
if #items == 0 then return 0 end
local msg = cjson.decode(items[1])
if msg.deletedAt then return 1 end
for k, v in pairs(patch) do msg[k] = v end
if msg.deletedAt then msg.content = '' end
redis.call('ZREMRANGEBYSCORE', pendingKey, seq, seq)
redis.call('ZADD', pendingKey, seq, cjson.encode(msg))
return 1
`,
);
