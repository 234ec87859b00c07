import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { RedisKeys } from '../common/constants';
import { RedisService } from '../redis/redis.service';
import type { QueuedMessage } from './message.types';

/** How long a (sender, clientMsgId) pair answers resends from Redis. The unique key in PostgreSQL backs it. */
const CLIENT_MSG_TTL_S = 24 * 3600;

/**
 * One round trip for the whole Redis side of a send, atomically:
 *  - a resend of a known (sender, clientMsgId) returns the first message, changing nothing;
 *  - otherwise the room's next seq (INCR), the message into the room's pending buffer
 *    (scored by seq, so history can merge it by seq before it is stored), the room into the
 *    sweeper's set, and the dedupe key.
 * A resend is the same sender and room: a known clientMsgId of the sender in another room
 * answers {2} (the database keeps one clientMsgId per sender, so it cannot be a second
 * message either: the caller refuses it with CONFLICT).
 * Returns {0, seq} for a new message, {1, json} for a resend, {2} for a clientMsgId used in
 * another room, {-1} when the counter is missing (first message since Redis lost it: the
 * caller seeds it from PostgreSQL).
 * ARGV[1] is the message JSON without seq; its opening brace is replaced by `{"seq":N,`.
 */
const SEND_SCRIPT = `
if KEYS[3] ~= '' then
  local first = redis.call('GET', KEYS[3])
  if first then
    local m = cjson.decode(first)
    if tostring(m.chatroomId) == ARGV[2] and tostring(m.senderId) == ARGV[5] then return {1, first} end
    return {2}
  end
end
if redis.call('EXISTS', KEYS[1]) == 0 then return {-1} end
local seq = redis.call('INCR', KEYS[1])
local json = '{"seq":' .. seq .. ',' .. string.sub(ARGV[1], 2)
redis.call('ZADD', KEYS[2], seq, json)
redis.call('SADD', KEYS[4], ARGV[2])
redis.call('HSET', KEYS[5], ARGV[4], ARGV[2] .. ':' .. seq)
if KEYS[3] ~= '' then redis.call('SET', KEYS[3], json, 'EX', ARGV[3]) end
return {0, seq}
`;

/**
 * Records a mutation of a message and applies it to its pending entry (if still queued), in
 * one atomic step. The record merges with earlier ones (an edit then a retraction keeps both
 * times), and a retraction is final: a later edit neither un-deletes nor restores content.
 * The pending entry is patched by the same rules (cjson decodes and re-encodes inside Redis,
 * so the worker's store cannot interleave).
 * KEYS: pending zset, mutation key. ARGV: seq, JSON patch, TTL s. Returns the merged record.
 */
const PATCH_SCRIPT = `
local patch = cjson.decode(ARGV[2])
local function merge(into)
  if into.deletedAt and not patch.deletedAt then return into end
  for k, v in pairs(patch) do into[k] = v end
  if into.deletedAt then into.content = '' end
  return into
end
local prior = redis.call('GET', KEYS[2])
local record = merge(prior and cjson.decode(prior) or {})
local encoded = cjson.encode(record)
redis.call('SET', KEYS[2], encoded, 'EX', ARGV[3])
local items = redis.call('ZRANGEBYSCORE', KEYS[1], ARGV[1], ARGV[1])
if #items > 0 then
  local msg = merge(cjson.decode(items[1]))
  redis.call('ZREMRANGEBYSCORE', KEYS[1], ARGV[1], ARGV[1])
  redis.call('ZADD', KEYS[1], ARGV[1], cjson.encode(msg))
end
return encoded
`;

/** Fields an edit, retraction or moderation changes. */
export interface MessagePatch {
  content?: string;
  editedAt?: string;
  deletedAt?: string;
  deletedById?: number;
}

/** Mutations of queued messages are kept this long for the worker to re-apply. */
const MUTATION_TTL_S = 7 * 24 * 3600;

export type AppendResult =
  { status: 'new' | 'duplicate'; message: QueuedMessage } | { status: 'unseeded' } | { status: 'conflict' };

/**
 * The Redis side of messages that are acknowledged but maybe not yet in PostgreSQL:
 * per-room seq counters and pending buffers. Entries leave the buffer only after the
 * persistence worker has stored them, so a reader merging buffer and table never sees a hole.
 */
@Injectable()
export class PendingMessageStore {
  constructor(private readonly redis: RedisService) {
    this.redis.client.defineCommand('chatAppend', { numberOfKeys: 5, lua: SEND_SCRIPT });
    this.redis.client.defineCommand('chatPatchPending', { numberOfKeys: 2, lua: PATCH_SCRIPT });
  }

  async append(draft: Omit<QueuedMessage, 'seq'>): Promise<AppendResult> {
    const cmidKey = draft.clientMsgId ? RedisKeys.clientMsg(draft.senderId, draft.clientMsgId) : '';
    const client = this.redis.client as unknown as {
      chatAppend(...args: (string | number)[]): Promise<[number, (string | number)?]>;
    };
    const [code, value] = await client.chatAppend(
      RedisKeys.roomSeq(draft.chatroomId),
      RedisKeys.roomPending(draft.chatroomId),
      cmidKey,
      RedisKeys.pendingRooms(),
      RedisKeys.pendingIndex(),
      JSON.stringify(draft),
      draft.chatroomId,
      CLIENT_MSG_TTL_S,
      draft.id,
      draft.senderId,
    );
    if (code === -1) return { status: 'unseeded' };
    if (code === 2) return { status: 'conflict' };
    if (code === 1) return { status: 'duplicate', message: JSON.parse(String(value)) as QueuedMessage };
    // New: the stored JSON is the draft plus its seq, so no need to parse it back.
    return { status: 'new', message: { seq: Number(value), ...draft } };
  }

  /** Seeds a missing counter from the highest stored seq; NX so a racing seeder cannot lower it. */
  async seedSeq(chatroomId: number, highestStoredSeq: number): Promise<void> {
    await this.redis.client.set(RedisKeys.roomSeq(chatroomId), highestStoredSeq, 'NX');
  }

  /** Live last seq of rooms (null where no counter exists yet). One MGET. */
  async lastSeqs(chatroomIds: number[]): Promise<(number | null)[]> {
    if (!chatroomIds.length) return [];
    const values = await this.redis.client.mget(chatroomIds.map((id) => RedisKeys.roomSeq(id)));
    return values.map((v) => (v === null ? null : Number(v)));
  }

  /** Pending messages of a room with min <= seq <= max, ascending. */
  async range(chatroomId: number, min: number, max: number): Promise<QueuedMessage[]> {
    const key = RedisKeys.roomPending(chatroomId);
    const items = await this.redis.client.zrangebyscore(key, min, max === Infinity ? '+inf' : max);
    return items.map((s) => JSON.parse(s) as QueuedMessage);
  }

  /** Every pending message of each room (one pipeline), ascending by seq. */
  async ofRooms(chatroomIds: number[]): Promise<QueuedMessage[][]> {
    if (!chatroomIds.length) return [];
    const pipe = this.redis.client.pipeline();
    for (const id of chatroomIds) pipe.zrange(RedisKeys.roomPending(id), '0', '-1');
    const results = (await pipe.exec()) ?? [];
    return results.map(([err, items]) => {
      if (err) throw err;
      return (items as string[]).map((s) => JSON.parse(s) as QueuedMessage);
    });
  }

  /** The lowest-seq pending message of each room, null where the buffer is empty (one pipeline). */
  async firstOf(chatroomIds: number[]): Promise<(QueuedMessage | null)[]> {
    if (!chatroomIds.length) return [];
    const pipe = this.redis.client.pipeline();
    for (const id of chatroomIds) pipe.zrange(RedisKeys.roomPending(id), '0', '0');
    const results = (await pipe.exec()) ?? [];
    return results.map(([err, items]) => {
      if (err) throw err;
      const [first] = items as string[];
      return first ? (JSON.parse(first) as QueuedMessage) : null;
    });
  }

  /** Pending messages of a room older than `olderThanMs` (for the sweeper). */
  async stale(chatroomId: number, olderThanMs: number): Promise<QueuedMessage[]> {
    const all = await this.range(chatroomId, 0, Infinity);
    const cutoff = Date.now() - olderThanMs;
    return all.filter((m) => Date.parse(m.createdAt) < cutoff);
  }

  async pendingRooms(): Promise<number[]> {
    return (await this.redis.client.smembers(RedisKeys.pendingRooms())).map(Number);
  }

  /** Drops stored messages from their rooms' buffers (one pipeline for a whole batch). */
  async removeStored(messages: Pick<QueuedMessage, 'id' | 'chatroomId' | 'seq'>[]): Promise<void> {
    if (!messages.length) return;
    const pipe = this.redis.client.pipeline();
    for (const m of messages) pipe.zremrangebyscore(RedisKeys.roomPending(m.chatroomId), m.seq, m.seq);
    pipe.hdel(RedisKeys.pendingIndex(), ...messages.map((m) => m.id));
    await pipe.exec();
  }

  /**
   * Set-aside messages became tombstones: members' cached unread counts of their rooms are
   * stale (as after a retraction, see UnreadCache), and their recorded edits are moot.
   */
  async tombstoned(messages: Pick<QueuedMessage, 'id' | 'chatroomId'>[]): Promise<void> {
    const pipe = this.redis.client.pipeline();
    for (const room of new Set(messages.map((m) => m.chatroomId))) {
      pipe.set(RedisKeys.roomCountsToken(room), randomUUID());
    }
    pipe.del(...messages.map((m) => RedisKeys.mutation(m.id)));
    await pipe.exec();
  }

  /** The pending message with this id, if it is still queued. */
  async findById(id: string): Promise<QueuedMessage | null> {
    const where = await this.redis.client.hget(RedisKeys.pendingIndex(), id);
    if (!where) return null;
    const [chatroomId, seq] = where.split(':').map(Number);
    const [found] = await this.range(chatroomId, seq, seq);
    return found?.id === id ? found : null;
  }

  /**
   * Applies a patch to a still-queued message (history then shows it at once) and records it
   * for the worker, which re-applies it after storing the job's older copy.
   */
  async patchPending(m: Pick<QueuedMessage, 'id' | 'chatroomId' | 'seq'>, patch: MessagePatch): Promise<void> {
    const client = this.redis.client as unknown as { chatPatchPending(...a: (string | number)[]): Promise<string> };
    await client.chatPatchPending(
      RedisKeys.roomPending(m.chatroomId),
      RedisKeys.mutation(m.id),
      m.seq,
      JSON.stringify(patch),
      MUTATION_TTL_S,
    );
  }

  /** Recorded mutations for these ids (null where none). One MGET. */
  async mutationsOf(ids: string[]): Promise<(MessagePatch | null)[]> {
    if (!ids.length) return [];
    const values = await this.redis.client.mget(ids.map((id) => RedisKeys.mutation(id)));
    return values.map((v) => (v ? (JSON.parse(v) as MessagePatch) : null));
  }

  async forgetMutations(ids: string[]): Promise<void> {
    if (ids.length) await this.redis.client.del(...ids.map((id) => RedisKeys.mutation(id)));
  }

  /** Forgets a room in the sweeper's set once its buffer is empty (checked atomically). */
  async forgetIfEmpty(chatroomId: number): Promise<void> {
    await this.redis.client.eval(
      `if redis.call('ZCARD', KEYS[1]) == 0 then redis.call('SREM', KEYS[2], ARGV[1]) end return 0`,
      2,
      RedisKeys.roomPending(chatroomId),
      RedisKeys.pendingRooms(),
      String(chatroomId),
    );
  }
}
