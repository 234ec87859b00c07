import type { RedisClient } from '../../redis/redis.service';

/** One message of an append: its room's keys and what the script needs of it. */
export interface AppendItem {
  /**
   * The room's keys. `removed` (RedisKeys.roomRemoved) is the set of users removed from the
   * room lately: a send whose sender is in it is refused. Every send gives it, with
   * `senderId`; an item without both (a test of the script's other answers) is not checked.
   */
  keys: { seq: string; pending: string; dedupe: string; removed?: string };
  /** The message JSON without seq (see LUA). */
  draft: string;
  hasClientMsgId: boolean;
  id: string;
  chatroomId: number;
  /** The sender, looked up in `keys.removed` (the script does not parse the draft for it). */
  senderId?: number;
}

export type AppendReply = [0, number] | [1, string] | [-1] | [-2];

/**
 * The Redis side of sends, atomically, for each message in turn:
 *  - a sender removed from the room lately (in the room's `removed` set, which a removal
 *    fills before it answers and keeps longer than any instance caches a "member" answer)
 *    is refused, changing nothing: the membership cache of the instance that took the
 *    send may not have heard of the removal yet (its relay is on its way, or lost);
 *  - a resend (a dedupe record exists for this sender and clientMsgId in the room) returns
 *    what the record holds, changing nothing;
 *  - otherwise the room's next seq (INCR), the message into the room's pending buffer scored
 *    by seq (history merges it before it is stored), the dedupe record, and, when the
 *    index key is given (last of KEYS), the message's place in the id index (edits act by id).
 *
 * The removal is looked at before the dedupe record: a removed user's resend is refused as
 * any other send of theirs, whichever instance it reaches, as it is where the cache has
 * heard of the removal (there the send never gets here). Its first message, accepted
 * before the removal, stays in the room; only the removed user does not learn of it again.
 *
 * Several messages per call: on a single Redis, the sends of one write window (TurnPipeline)
 * go as one command. Per message, a command of its own cost the main thread its command
 * object, encoding, reply and promise, which grew with the rate (README, Performance).
 *
 * The dedupe record holds the message's seq and id (`seq:id`), not a copy: it lives
 * `dedupeTtlS` (DEDUPE_WINDOW_S, a day by default), and a copy of every message for a day is
 * most of Redis's memory at any real rate (the buffer holds each one for milliseconds). The
 * caller finds the message by seq, as it is now.
 *
 * `draft` is the message JSON without seq: its opening brace becomes `{"seq":N,`, so the
 * message is encoded once, in the server. Two reply values per message, in order:
 *  - `0, seq` a new message,
 *  - `1, record` a resend: the first message's `seq:id` (a record written before this
 *    version holds the first message's JSON instead),
 *  - `-1, 0` no counter (the first message since Redis lost it): the caller seeds it from
 *    PostgreSQL and sends again,
 *  - `-2, 0` the sender was removed from the room: nothing written (no seq taken, no
 *    dedupe record), the caller refuses the send as it refuses a non-member.
 *
 * KEYS: per message seq, pending, dedupe, removed; then the index, if any.
 * ARGV: dedupeTtlS; then per message draft, hasClientMsgId ('1'/'0'), id, chatroomId,
 * senderId ('' for an item that is not checked: its removed key is then never read).
 */
const LUA = `
local dedupeTtlS = ARGV[1]
local n = (#ARGV - 1) / 5
local indexKey = KEYS[n * 4 + 1]
local out = {}
for i = 0, n - 1 do
  local k = i * 4
  local seqKey, pendingKey, dedupeKey, removedKey = KEYS[k + 1], KEYS[k + 2], KEYS[k + 3], KEYS[k + 4]
  local a = i * 5 + 1
  local draft, hasClientMsgId, id, room = ARGV[a + 1], ARGV[a + 2] == '1', ARGV[a + 3], ARGV[a + 4]
  local sender = ARGV[a + 5]
  if sender ~= '' and redis.call('ZSCORE', removedKey, sender) then
    out[#out + 1] = -2
    out[#out + 1] = 0
  else
    local first = hasClientMsgId and redis.call('GET', dedupeKey)
    if first then
      out[#out + 1] = 1
      out[#out + 1] = first
    elseif redis.call('EXISTS', seqKey) == 0 then
      out[#out + 1] = -1
      out[#out + 1] = 0
    else
      local seq = redis.call('INCR', seqKey)
      redis.call('ZADD', pendingKey, seq, '{"seq":' .. seq .. ',' .. string.sub(draft, 2))
      if hasClientMsgId then redis.call('SET', dedupeKey, seq .. ':' .. id, 'EX', dedupeTtlS) end
      if indexKey then redis.call('HSET', indexKey, id, room .. ':' .. seq) end
      out[#out + 1] = 0
      out[#out + 1] = seq
    end
  end
end
return out
`;

/** Variadic: KEYS are counted per call (a window's sends and the index). */
const BATCH = 'chatAppendMessages';
/**
 * One message, no index: its four keys declared, as a Redis Cluster client needs them to
 * route the call (and to group it with others of its slot: ioredis takes a call's first
 * argument for its key, which for the variadic form is the key count).
 */
const ONE = 'chatAppendMessage';

/**
 * The script as a typed caller on `client`. With `index`, every message is indexed too, in
 * the same step that makes it exist; only a single Redis allows that (the index is in
 * another hash slot). On a cluster, one message per call, without the index.
 */
export function appendMessagesOn(
  client: RedisClient,
  dedupeTtlS: number,
): (items: readonly AppendItem[], index?: string) => Promise<AppendReply[]> {
  if (!(BATCH in client)) client.defineCommand(BATCH, { lua: LUA });
  if (!(ONE in client)) client.defineCommand(ONE, { numberOfKeys: 4, lua: LUA });
  type Command = (...args: (string | number)[]) => Promise<(string | number)[]>;
  const batch = (client as unknown as Record<string, Command>)[BATCH].bind(client);
  const one = (client as unknown as Record<string, Command>)[ONE].bind(client);
  return async (items, index) => {
    const keys: string[] = [];
    const args: (string | number)[] = [dedupeTtlS];
    for (const it of items) {
      const checked = it.keys.removed !== undefined && it.senderId !== undefined;
      if (!checked && (it.keys.removed !== undefined || it.senderId !== undefined)) {
        throw new Error('append: keys.removed and senderId go together');
      }
      // Unchecked, the slot of the removed key holds the seq key again: a key of the room
      // (a cluster routes by declared keys), which the script then never reads as a set.
      keys.push(it.keys.seq, it.keys.pending, it.keys.dedupe, it.keys.removed ?? it.keys.seq);
      args.push(it.draft, it.hasClientMsgId ? '1' : '0', it.id, it.chatroomId, checked ? String(it.senderId) : '');
    }
    if (index !== undefined) keys.push(index);
    const flat =
      items.length === 1 && index === undefined
        ? await one(...keys, ...args)
        : await batch(keys.length, ...keys, ...args);
    return items.map((_, i) => replyAt(flat, i));
  };
}

function replyAt(flat: (string | number)[], i: number): AppendReply {
  const code = Number(flat[i * 2]);
  if (code === 0) return [0, Number(flat[i * 2 + 1])];
  if (code === 1) return [1, String(flat[i * 2 + 1])];
  if (code === -2) return [-2];
  return [-1];
}
