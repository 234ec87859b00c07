import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import Redis from 'ioredis';
import { RedisKeys } from '../common/constants';
import { AppConfig } from '../config/app-config';
import { RedisService } from '../redis/redis.service';
import { TurnPipeline } from '../redis/turn-pipeline';
import type { QueuedMessage } from './message.types';
import { SeqRun, seqRunsByRoom } from './persist-job';
import { AppendBatcher } from './append-batcher';
import { AppendItem, appendMessagesOn, AppendReply } from './scripts/append-message.script';
import { forgetQuietRoomScript } from './scripts/forget-quiet-room.script';
import { PatchReply, patchPendingScript } from './scripts/patch-pending.script';

/**
 * How long this instance trusts its own mark of a room in the sweeper's set
 * (markDue). Far below FORGET_QUIET_ROOM_MS: a mark this instance relies on is never
 * old enough to be forgotten.
 */
const MARK_REFRESH_MS = 1_000;
/** The sweeper forgets a room with an empty buffer once nobody marked it for this long. */
export const FORGET_QUIET_ROOM_MS = 60_000;

/** Fields an edit, retraction or moderation changes. */
export interface MessagePatch {
  content?: string;
  editedAt?: string;
  deletedAt?: string;
  deletedById?: number;
}

/**
 * What an edit, retraction or moderation did, decided where it is written (the pending
 * entry's script, the row's UPDATE), not on a copy read before: `applied`; `retracted`
 * (the message is a tombstone already, and stays exactly as it was); or `superseded` (an
 * edit at least as recent, by editedAt, is there already, and stays).
 */
export type PatchOutcome = 'applied' | 'retracted' | 'superseded';

const PENDING_OUTCOMES = {
  [PatchReply.NotQueued]: 'not-queued',
  [PatchReply.Patched]: 'applied',
  [PatchReply.Retracted]: 'retracted',
  [PatchReply.Superseded]: 'superseded',
} as const satisfies Record<PatchReply, PatchOutcome | 'not-queued'>;

export type AppendResult =
  | { status: 'new'; message: QueuedMessage }
  /** A resend: the first message's place and id (ChatService reads it as it is now). */
  | { status: 'duplicate'; first: FirstMessage }
  | { status: 'unseeded' }
  /**
   * The sender was removed from the room lately (RedisKeys.roomRemoved): nothing written.
   * The membership cache that let the send through had not heard of the removal yet.
   */
  | { status: 'removed' };

/** A pending entry as the worker read it: the message, and its exact bytes in the buffer. */
export interface PendingCopy {
  message: QueuedMessage;
  raw: string;
}

/**
 * The Redis side of messages that are acknowledged but maybe not yet in PostgreSQL:
 * per-room seq counters and pending buffers. Entries leave the buffer only after the
 * persistence worker has stored them, so a reader merging buffer and table never sees a hole.
 */
@Injectable()
export class PendingMessageStore {
  private readonly appendMessages: ReturnType<typeof appendMessagesOn>;
  private readonly patch: ReturnType<typeof patchPendingScript.on>;
  private readonly forgetQuietRoom: ReturnType<typeof forgetQuietRoomScript.on>;
  /** Rooms this instance marked in the sweeper's set, and when. */
  private readonly marked = new Map<number, number>();
  /** Cluster: marks on their way, per room (markOnCluster). */
  private readonly marking = new Map<number, Promise<void>>();
  /**
   * Single Redis: the sends of a turn, or of SEND_LINGER_MS when busy, in one write, their
   * appends in one script call (AppendBatcher); each append indexes too.
   */
  private readonly single: { turn: TurnPipeline; appends: AppendBatcher } | undefined;

  constructor(
    private readonly redis: RedisService,
    config: AppConfig,
  ) {
    this.appendMessages = appendMessagesOn(redis.client, config.dedupeWindowS);
    if (redis.client instanceof Redis) {
      const turn = new TurnPipeline(redis.client, config.sendLingerMs);
      this.single = {
        turn,
        appends: new AppendBatcher(turn, (items) => this.appendMessages(items, RedisKeys.pendingIndex())),
      };
    }
    this.patch = patchPendingScript.on(redis.client);
    this.forgetQuietRoom = forgetQuietRoomScript.on(redis.client);
  }

  /**
   * Assigns the draft its seq and puts it into its room's pending buffer and the id index,
   * after marking the room for the sweeper: from then on the message is durable (the
   * sweeper queues it if nothing else does), readable (history merges the buffer) and
   * editable by id. A resend returns the first message instead; a sender removed from the
   * room lately is refused, with nothing written.
   */
  async append(draft: Omit<QueuedMessage, 'seq'>): Promise<AppendResult> {
    const reply = this.single ? await this.appendInTurn(this.single, draft) : await this.appendOnCluster(draft);
    if (reply[0] === -2) return { status: 'removed' };
    if (reply[0] === -1) return { status: 'unseeded' };
    if (reply[0] === 1) return { status: 'duplicate', first: firstMessage(reply[1]) };
    // New: the stored JSON is the draft plus its seq, so no need to parse it back.
    return { status: 'new', message: { seq: Number(reply[1]), ...draft } };
  }

  /**
   * Single Redis: the mark (when due) now, and the indexed append with the other sends of
   * this turn, or of the linger window when the connection is busy, written after everything
   * else of the window (AppendBatcher). One connection runs commands in the order sent, so no
   * append of the room, this one or a later one that skips the mark, can overtake it. Every
   * send waits on the same two promises, marked or not, so replies that resolve in seq order
   * in one tick continue in seq order (ChatService.publish).
   */
  private async appendInTurn(
    { turn, appends }: NonNullable<PendingMessageStore['single']>,
    draft: Omit<QueuedMessage, 'seq'>,
  ): Promise<AppendReply> {
    const room = draft.chatroomId;
    const now = Date.now();
    const mark = this.markDue(room, now)
      ? turn
          .run((client) => client.zadd(RedisKeys.pendingRooms(), now, room))
          .catch((err: unknown) => {
            this.marked.delete(room);
            throw err;
          })
      : undefined;
    const [, reply] = await Promise.all([mark, appends.append(this.appendItem(draft))]);
    return reply;
  }

  /**
   * Cluster: the sweeper's set and the id index live in other slots than the room's keys,
   * so mark, append and index are separate commands, in this order.
   */
  private async appendOnCluster(draft: Omit<QueuedMessage, 'seq'>): Promise<AppendReply> {
    await this.markOnCluster(draft.chatroomId);
    const [reply] = await this.appendMessages([this.appendItem(draft)]);
    if (reply[0] === 0) await this.index([{ id: draft.id, chatroomId: draft.chatroomId, seq: reply[1] }]);
    return reply;
  }

  /**
   * The mark and the append travel on different connections of a cluster, so a send waits
   * for its room's mark in flight, even one another send started: no append overtakes it.
   */
  private markOnCluster(chatroomId: number): Promise<void> {
    const inFlight = this.marking.get(chatroomId);
    if (inFlight) return inFlight;
    const now = Date.now();
    if (!this.markDue(chatroomId, now)) return Promise.resolve();
    const marking = this.redis.client
      .zadd(RedisKeys.pendingRooms(), now, chatroomId)
      .then(
        () => undefined,
        (err: unknown) => {
          this.marked.delete(chatroomId);
          throw err;
        },
      )
      .finally(() => this.marking.delete(chatroomId));
    this.marking.set(chatroomId, marking);
    return marking;
  }

  private appendItem(draft: Omit<QueuedMessage, 'seq'>): AppendItem {
    return {
      keys: {
        seq: RedisKeys.roomSeq(draft.chatroomId),
        pending: RedisKeys.roomPending(draft.chatroomId),
        dedupe: RedisKeys.clientMsg(draft.chatroomId, draft.senderId, draft.clientMsgId ?? ''),
        // Every send is checked against the room's recent removals, in the same script call:
        // one more key and one ZSCORE, no round trip.
        removed: RedisKeys.roomRemoved(draft.chatroomId),
      },
      draft: JSON.stringify(draft),
      hasClientMsgId: !!draft.clientMsgId,
      id: draft.id,
      chatroomId: draft.chatroomId,
      senderId: draft.senderId,
    };
  }

  /**
   * The room goes into the sweeper's set before a message goes into its buffer, so a
   * message whose queue job is never added (the server died in between) is found. The
   * append script cannot do it (another hash slot on a cluster); once a second per room and
   * instance is enough (see forgetQuietRoomScript). True when this send must mark (the
   * caller marks, and forgets the time if that fails).
   */
  private markDue(chatroomId: number, now: number): boolean {
    if (now - (this.marked.get(chatroomId) ?? 0) < MARK_REFRESH_MS) return false;
    if (this.marked.size > 10_000) this.marked.clear();
    this.marked.set(chatroomId, now);
    return true;
  }

  /**
   * Where queued messages are, by id (edits and retractions act by id). A send indexes its
   * message with the append; the sweeper re-indexes what it re-queues.
   */
  async index(messages: Pick<QueuedMessage, 'id' | 'chatroomId' | 'seq'>[]): Promise<void> {
    if (!messages.length) return;
    await this.redis.client.hset(
      RedisKeys.pendingIndex(),
      Object.fromEntries(messages.map((m) => [m.id, `${m.chatroomId}:${m.seq}`])),
    );
  }

  /**
   * Seeds a missing counter from the highest stored seq; NX so a racing seeder cannot lower
   * it. Returns the counter as it now is (the racer's value if one got there first).
   */
  async seedSeq(chatroomId: number, highestStoredSeq: number): Promise<number> {
    const before = await this.redis.client.set(RedisKeys.roomSeq(chatroomId), highestStoredSeq, 'NX', 'GET');
    return before === null ? highestStoredSeq : Number(before);
  }

  /** Live last seq of rooms (null where no counter exists yet). One MGET. */
  async lastSeqs(chatroomIds: number[]): Promise<(number | null)[]> {
    if (!chatroomIds.length) return [];
    const values = await this.redis.mget(chatroomIds.map((id) => RedisKeys.roomSeq(id)));
    return values.map((v) => (v === null ? null : Number(v)));
  }

  /** Pending messages of a room with min <= seq <= max, ascending. */
  async range(chatroomId: number, min: number, max: number): Promise<QueuedMessage[]> {
    const key = RedisKeys.roomPending(chatroomId);
    const items = await this.redis.client.zrangebyscore(key, min, max === Infinity ? '+inf' : max);
    return items.map((s) => JSON.parse(s) as QueuedMessage);
  }

  /** Every pending message of each room (one round trip), ascending by seq. */
  async ofRooms(chatroomIds: number[]): Promise<QueuedMessage[][]> {
    const results = await this.redis.each(chatroomIds, (c, id) => c.zrange(RedisKeys.roomPending(id), '0', '-1'));
    return results.map((items) => items.map((s) => JSON.parse(s) as QueuedMessage));
  }

  /** The lowest-seq pending message of each room, null where the buffer is empty (one round trip). */
  async firstOf(chatroomIds: number[]): Promise<(QueuedMessage | null)[]> {
    const results = await this.redis.each(chatroomIds, (c, id) => c.zrange(RedisKeys.roomPending(id), '0', '0'));
    return results.map(([first]) => (first ? (JSON.parse(first) as QueuedMessage) : null));
  }

  /** Pending messages of a room older than `olderThanMs` (for the sweeper). */
  async stale(chatroomId: number, olderThanMs: number): Promise<QueuedMessage[]> {
    const all = await this.range(chatroomId, 0, Infinity);
    const cutoff = Date.now() - olderThanMs;
    return all.filter((m) => Date.parse(m.createdAt) < cutoff);
  }

  /** Rooms that may have queued messages (the sweeper's set). */
  async pendingRooms(): Promise<{ chatroomId: number; markedAt: number }[]> {
    const flat = await this.redis.client.zrange(RedisKeys.pendingRooms(), '0', '-1', 'WITHSCORES');
    const rooms: { chatroomId: number; markedAt: number }[] = [];
    for (let i = 0; i < flat.length; i += 2) rooms.push({ chatroomId: Number(flat[i]), markedAt: Number(flat[i + 1]) });
    return rooms;
  }

  /**
   * The pending entries at these places, as they are now (edits applied): one round trip.
   * Places already stored and dropped are simply absent.
   */
  async read(runs: SeqRun[]): Promise<PendingCopy[]> {
    const found = await this.redis.each(runs, (c, [room, from, to]) =>
      c.zrangebyscore(RedisKeys.roomPending(room), from, to),
    );
    return found.flat().map((raw) => ({ message: JSON.parse(raw) as QueuedMessage, raw }));
  }

  /**
   * Drops stored copies from their rooms' buffers, then their ids from the index. An entry
   * leaves only if its bytes are still the ones stored (ZREM by member), so a message edited
   * after the worker read it stays queued, and is returned as it is now for the worker to
   * bring its row up to date and call again with. The data carry the order: no edit can slip
   * between a store and its removal unseen. The index keeps pointing at what stays: lookups
   * by id prefer the queued copy to the row (ChatHistoryService.findMessages), and the row is
   * behind until the next round.
   */
  async removeStored(copies: PendingCopy[]): Promise<PendingCopy[]> {
    if (!copies.length) return [];
    const byRoom = new Map<number, PendingCopy[]>();
    for (const c of copies) {
      const list = byRoom.get(c.message.chatroomId);
      if (list) list.push(c);
      else byRoom.set(c.message.chatroomId, [c]);
    }
    const rooms = [...byRoom];
    const removed = await this.redis.each(rooms, (c, [room, list]) =>
      c.zrem(
        RedisKeys.roomPending(room),
        list.map((x) => x.raw),
      ),
    );
    // Rare: some entry changed since it was read. Its room's places are read again; what is
    // still there is the newer copy.
    const changedRooms = rooms.filter(([, list], i) => removed[i] < list.length);
    const changed = changedRooms.length
      ? await this.read(changedRooms.flatMap(([, list]) => seqRunsByRoom(list.map((c) => c.message))))
      : [];
    const staying = new Set(changed.map((c) => c.message.id));
    const gone = copies.filter((c) => !staying.has(c.message.id)).map((c) => c.message.id);
    if (gone.length) await this.redis.client.hdel(RedisKeys.pendingIndex(), ...gone);
    return changed;
  }

  /**
   * Set-aside messages became tombstones: members' cached unread counts of their rooms are
   * stale (as after a retraction, see UnreadCache).
   */
  async tombstoned(messages: Pick<QueuedMessage, 'chatroomId'>[]): Promise<void> {
    await this.redis.each([...new Set(messages.map((m) => m.chatroomId))], (c, room) =>
      c.set(RedisKeys.roomCountsToken(room), randomUUID()),
    );
  }

  /**
   * The still-queued messages with these ids (absent: stored and dropped, or unknown): one
   * HMGET of the index, then one round trip for the entries found.
   */
  async findByIds(ids: string[]): Promise<Map<string, QueuedMessage>> {
    const found = new Map<string, QueuedMessage>();
    if (!ids.length) return found;
    const places = await this.redis.client.hmget(RedisKeys.pendingIndex(), ...ids);
    const queued = ids.flatMap((id, i) => {
      const [chatroomId, seq] = places[i]?.split(':').map(Number) ?? [];
      return chatroomId && seq ? [{ id, chatroomId, seq }] : [];
    });
    const entries = await this.redis.each(queued, (c, m) =>
      c.zrangebyscore(RedisKeys.roomPending(m.chatroomId), m.seq, m.seq),
    );
    queued.forEach((m, i) => {
      const entry = entries[i][0] ? (JSON.parse(entries[i][0]) as QueuedMessage) : undefined;
      if (entry?.id === m.id) found.set(m.id, entry);
    });
    return found;
  }

  /**
   * Applies a patch to a message's pending entry if it is still queued (history shows it at
   * once, and the worker stores the patched copy). `not-queued`: the message is stored, the
   * caller patches its row.
   */
  async patchPending(
    m: Pick<QueuedMessage, 'chatroomId' | 'seq'>,
    patch: MessagePatch,
  ): Promise<PatchOutcome | 'not-queued'> {
    const reply = await this.patch({ pending: RedisKeys.roomPending(m.chatroomId) }, m.seq, JSON.stringify(patch));
    return PENDING_OUTCOMES[reply];
  }

  /**
   * Forgets a room in the sweeper's set: its buffer was seen empty, and nobody marked it
   * for FORGET_QUIET_ROOM_MS (a room in use stays, instead of being marked again).
   */
  async forgetIfQuiet(room: { chatroomId: number; markedAt: number }): Promise<boolean> {
    const cutoff = Date.now() - FORGET_QUIET_ROOM_MS;
    if (room.markedAt >= cutoff) return false; // in use: no round trip
    return (await this.forgetQuietRoom({ marks: RedisKeys.pendingRooms() }, room.chatroomId, cutoff)) === 1;
  }
}

/** What a dedupe record says of the first message of a clientMsgId. */
export interface FirstMessage {
  seq: number;
  id: string;
}

/**
 * The dedupe record holds `seq:id`; one written before it did (alive up to its 24 h TTL
 * after an upgrade) holds the whole first message as JSON.
 */
function firstMessage(record: string): FirstMessage {
  if (record.startsWith('{')) {
    const { seq, id } = JSON.parse(record) as QueuedMessage;
    return { seq, id };
  }
  const colon = record.indexOf(':');
  return { seq: Number(record.slice(0, colon)), id: record.slice(colon + 1) };
}
