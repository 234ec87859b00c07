import { RedisScript } from '../../redis/redis-script';

/**
 * Records a mutation of a message and applies it to its pending entry (if still queued), in
 * one atomic step on the room's keys. The record merges with earlier ones (an edit then a
 * retraction keeps both times), and a retraction is final: a later edit neither un-deletes
 * nor restores content. The pending entry is patched by the same rules (cjson decodes and
 * re-encodes inside Redis, so the worker's store cannot interleave). Replies the merged
 * record's JSON.
 */
export const patchPendingScript = new RedisScript<
  'pending' | 'mutation',
  [seq: number, patch: string, ttlS: number],
  string
>(
  'chatPatchPending',
  ['pending', 'mutation'],
  `
local pendingKey, mutationKey = KEYS[1], KEYS[2]
local seq, patch, ttlS = ARGV[1], cjson.decode(ARGV[2]), ARGV[3]
local function merge(into)
  if into.deletedAt and not patch.deletedAt then return into end
  for k, v in pairs(patch) do into[k] = v end
  if into.deletedAt then into.content = '' end
  return into
end
local prior = redis.call('GET', mutationKey)
local record = merge(prior and cjson.decode(prior) or {})
local encoded = cjson.encode(record)
redis.call('SET', mutationKey, encoded, 'EX', ttlS)
local items = redis.call('ZRANGEBYSCORE', pendingKey, seq, seq)
if #items > 0 then
  local msg = merge(cjson.decode(items[1]))
  redis.call('ZREMRANGEBYSCORE', pendingKey, seq, seq)
  redis.call('ZADD', pendingKey, seq, cjson.encode(msg))
end
return encoded
`,
);
