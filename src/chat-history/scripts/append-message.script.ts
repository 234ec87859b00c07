import { RedisScript } from '../../redis/redis-script';

/**
 * The Redis side of a send, atomically, on the room's keys only (one hash slot):
 *  - a resend (a dedupe record exists for this sender and clientMsgId in the room) returns
 *    the first message's JSON, changing nothing;
 *  - otherwise the room's next seq (INCR), the message into the room's pending buffer scored
 *    by seq (history merges it before it is stored), and the dedupe record.
 *
 * `draft` is the message JSON without seq: its opening brace becomes `{"seq":N,`, so the
 * message is encoded once, in the server. Replies:
 *  - `[0, seq]` a new message,
 *  - `[1, json]` a resend,
 *  - `[-1]` no counter (the first message since Redis lost it): the caller seeds it from
 *    PostgreSQL and calls again.
 */
export const appendMessageScript = new RedisScript<
  'seq' | 'pending' | 'dedupe',
  [draft: string, dedupeTtlS: number, hasClientMsgId: '0' | '1'],
  [0, number] | [1, string] | [-1]
>(
  'chatAppendMessage',
  ['seq', 'pending', 'dedupe'],
  `
local seqKey, pendingKey, dedupeKey = KEYS[1], KEYS[2], KEYS[3]
local draft, dedupeTtlS, hasClientMsgId = ARGV[1], ARGV[2], ARGV[3] == '1'
if hasClientMsgId then
  local first = redis.call('GET', dedupeKey)
  if first then return {1, first} end
end
if redis.call('EXISTS', seqKey) == 0 then return {-1} end
local seq = redis.call('INCR', seqKey)
local json = '{"seq":' .. seq .. ',' .. string.sub(draft, 2)
redis.call('ZADD', pendingKey, seq, json)
if hasClientMsgId then redis.call('SET', dedupeKey, json, 'EX', dedupeTtlS) end
return {0, seq}
`,
);
