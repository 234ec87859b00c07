import { RedisScript } from '../../redis/redis-script';

export type AppendArgs = [draft: string, dedupeTtlS: number, hasClientMsgId: '0' | '1', id: string, chatroomId: number];
export type AppendReply = [0, number] | [1, string] | [-1];

/**
 * The Redis side of a send, atomically:
 *  - a resend (a dedupe record exists for this sender and clientMsgId in the room) returns
 *    what the record holds, changing nothing;
 *  - otherwise the room's next seq (INCR), the message into the room's pending buffer scored
 *    by seq (history merges it before it is stored), the dedupe record, and, when the
 *    `index` key is given, the message's place in the id index (edits act by id).
 *
 * The dedupe record holds the message's seq and id (`seq:id`), not a copy: it lives
 * `dedupeTtlS` (DEDUPE_WINDOW_S, a day by default), and a copy of every message for a day is
 * most of Redis's memory at any real rate (the buffer holds each one for milliseconds). The
 * caller finds the message by seq, as it is now.
 *
 * `draft` is the message JSON without seq: its opening brace becomes `{"seq":N,`, so the
 * message is encoded once, in the server. Replies:
 *  - `[0, seq]` a new message,
 *  - `[1, record]` a resend: the first message's `seq:id` (a record written before this
 *    version holds the first message's JSON instead),
 *  - `[-1]` no counter (the first message since Redis lost it): the caller seeds it from
 *    PostgreSQL and calls again.
 */
const LUA = `
local seqKey, pendingKey, dedupeKey, indexKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local draft, dedupeTtlS, hasClientMsgId, id, room = ARGV[1], ARGV[2], ARGV[3] == '1', ARGV[4], ARGV[5]
if hasClientMsgId then
  local first = redis.call('GET', dedupeKey)
  if first then return {1, first} end
end
if redis.call('EXISTS', seqKey) == 0 then return {-1} end
local seq = redis.call('INCR', seqKey)
local json = '{"seq":' .. seq .. ',' .. string.sub(draft, 2)
redis.call('ZADD', pendingKey, seq, json)
if hasClientMsgId then redis.call('SET', dedupeKey, seq .. ':' .. id, 'EX', dedupeTtlS) end
if indexKey then redis.call('HSET', indexKey, id, room .. ':' .. seq) end
return {0, seq}
`;

/** On a Redis Cluster: the room's keys only (one hash slot); the caller writes the index. */
export const appendMessageScript = new RedisScript<'seq' | 'pending' | 'dedupe', AppendArgs, AppendReply>(
  'chatAppendMessage',
  ['seq', 'pending', 'dedupe'],
  LUA,
);

/**
 * On a single Redis: the index too, so a message is findable by id in the same step that
 * makes it exist (the index key is in another slot, which only a cluster refuses).
 */
export const appendIndexedMessageScript = new RedisScript<
  'seq' | 'pending' | 'dedupe' | 'index',
  AppendArgs,
  AppendReply
>('chatAppendIndexedMessage', ['seq', 'pending', 'dedupe', 'index'], LUA);
