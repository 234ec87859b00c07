import { RedisScript } from '../../redis/redis-script';

/** Replies of patchPendingScript. */
export const PatchReply = {
  /** The message is not queued (stored already): the caller updates the row. */
  NotQueued: 0,
  /** The entry was patched. */
  Patched: 1,
  /** The entry is a tombstone already: nothing changed (a retraction is final). */
  Retracted: 2,
  /** An edit at least as recent (editedAt) is in the entry already: nothing changed. */
  Superseded: 3,
} as const;
export type PatchReply = (typeof PatchReply)[keyof typeof PatchReply];

/**
 * Applies an edit, retraction or moderation to a message's pending entry, if it is still
 * queued: atomically, so that the persistence worker either read the entry before (and
 * then cannot remove the new bytes, see PendingMessageStore.removeStored) or reads the
 * patched one. A retraction is final: a later edit neither un-deletes nor restores content,
 * and a tombstone keeps its first deletedAt. The reply says which of these happened
 * (PatchReply): the caller's copy of the message was read before, so only this answer tells
 * an edit that lost the race to a retraction (a hostile-client probe saw such an edit
 * answer 200 and be announced after the deleteMessage).
 *
 * Of two edits, the later one (editedAt) wins wherever they land first: an edit older than
 * the entry's is refused, as the row's UPDATE refuses it (MessageRepository.applyPatch). The
 * clients keep the later of two versions too, so however the two announcements cross, every
 * member ends with the version stored. ISO-8601 UTC timestamps of one format compare as
 * strings in time order.
 */
export const patchPendingScript = new RedisScript<'pending', [seq: number, patch: string], PatchReply>(
  'chatPatchPending',
  ['pending'],
  `
local pendingKey = KEYS[1]
local seq, patch = ARGV[1], cjson.decode(ARGV[2])
local items = redis.call('ZRANGEBYSCORE', pendingKey, seq, seq)
if #items == 0 then return ${PatchReply.NotQueued} end
local msg = cjson.decode(items[1])
if msg.deletedAt then return ${PatchReply.Retracted} end
if patch.editedAt and msg.editedAt and msg.editedAt >= patch.editedAt then return ${PatchReply.Superseded} end
for k, v in pairs(patch) do msg[k] = v end
if msg.deletedAt then msg.content = '' end
redis.call('ZREMRANGEBYSCORE', pendingKey, seq, seq)
redis.call('ZADD', pendingKey, seq, cjson.encode(msg))
return ${PatchReply.Patched}
`,
);
