import { Injectable } from '@nestjs/common';
import type { QueuedMessage } from '../chat-history/message.types';
import { PendingMessageStore } from '../chat-history/pending-message.store';
import { PrismaService } from '../prisma/prisma.service';
import { CachedCount, RoomSnapshot, UnreadCache } from './unread-cache';

export interface MemberPosition {
  chatroomId: number;
  readSeq: number;
  /** The room's stored last_seq (the live one comes from Redis). */
  storedLastSeq: number;
}

export interface RoomUnread {
  chatroomId: number;
  readSeq: number;
  lastSeq: number;
  unreadCount: number;
}

/**
 * Read state that stays cheap at any room size. A member has a read position (everything up
 * to `read_seq` is read) plus two sparse sets keyed by seq: messages read out of order
 * (`message_reads`) and messages hidden for them (`message_hidden`). Because seqs are
 * contiguous (tombstones keep theirs), the unread count of a room is
 *
 *   (lastSeq - readSeq) - |{seq > readSeq : mine ∪ retracted ∪ hidden by me ∪ read out of order}|
 *
 * and every set on the right is small and served by an index: moving the position is O(1)
 * writes (plus pruning the sparse reads it covers), and no row exists per message per member.
 * The counts themselves are cached per member and room (UnreadCache), so a user in hundreds
 * of rooms recounts only the rooms that changed since the last look.
 */
// The statements behind every unread count and position move run as plain SQL on the pool:
// with a user in hundreds of rooms, the query engine's per-row mapping cost more than the
// statements themselves. They are named (prepared once per connection): planning the
// positions join took longer than running it (0.9 ms against 0.5, bench:reads).
const POSITIONS_SQL = `
  SELECT cm.chatroom_id AS "chatroomId", cm.read_seq AS "readSeq", c.last_seq AS "storedLastSeq"
    FROM chatroom_members cm JOIN chatrooms c ON c.id = cm.chatroom_id
   WHERE cm.user_id = $1`;

/**
 * Moves the position (members only: no row, no result), prunes the reads it now covers, and
 * returns every position of the member with the moved one's new value: the mark-read path
 * needs all of them for the total, and this saves it a round trip. The outer SELECT sees the
 * rows as they were before the UPDATE (one snapshot per statement), hence the join to `moved`,
 * and hence `advanced`: the old value beside the new one tells, at no extra cost, whether the
 * position really moved, so a mark at or below it broadcasts nothing to the room. (Two marks
 * racing to the same seq may both see the older snapshot and both report a move: a duplicate
 * `read` with the same seq, harmless; a WHERE on the UPDATE instead would leave the loser
 * answering with its stale snapshot's position.)
 */
const ADVANCE_SQL = `
  WITH moved AS (
    UPDATE chatroom_members cm SET read_seq = GREATEST(cm.read_seq, LEAST($1, GREATEST(c.last_seq, $4)))
      FROM chatrooms c
     WHERE c.id = cm.chatroom_id AND cm.chatroom_id = $2 AND cm.user_id = $3
    RETURNING cm.chatroom_id, cm.read_seq
  ), pruned AS (
    DELETE FROM message_reads WHERE user_id = $3 AND chatroom_id = $2 AND seq <= (SELECT read_seq FROM moved)
  )
  SELECT cm.chatroom_id AS "chatroomId", COALESCE(mv.read_seq, cm.read_seq) AS "readSeq",
         c.last_seq AS "storedLastSeq", mv.chatroom_id IS NOT NULL AS moved,
         mv.read_seq > cm.read_seq AS advanced
    FROM chatroom_members cm JOIN chatrooms c ON c.id = cm.chatroom_id
    LEFT JOIN moved mv ON mv.chatroom_id = cm.chatroom_id
   WHERE cm.user_id = $3`;

/** Per room, the seqs after the position that are not unread; each arm is an index range. */
export const EXCLUDED_SQL = `
  SELECT r.id, ARRAY(
    SELECT m.seq FROM messages m WHERE m.chatroom_id = r.id AND m.sender_id = $1 AND m.seq > r.read_seq
    UNION SELECT m.seq FROM messages m WHERE m.chatroom_id = r.id AND m.deleted_at IS NOT NULL AND m.seq > r.read_seq
    UNION SELECT h.seq FROM message_hidden h WHERE h.user_id = $1 AND h.chatroom_id = r.id AND h.seq > r.read_seq
    UNION SELECT x.seq FROM message_reads x WHERE x.user_id = $1 AND x.chatroom_id = r.id AND x.seq > r.read_seq
  ) AS seqs
    FROM unnest($2::int[], $3::int[]) AS r(id, read_seq)`;

@Injectable()
export class ReadStateService {
  constructor(
    private readonly prisma: PrismaService,
    private readonly pending: PendingMessageStore,
    private readonly cache: UnreadCache,
  ) {}

  /**
   * Unread counts of the given rooms of one member. One Redis script reads the live seqs and
   * the cached counts (UnreadCache); only rooms whose cached count no longer matches its
   * inputs are counted again, in one statement for all of them (plus their pending buffers).
   */
  async unread(userId: number, rooms: MemberPosition[]): Promise<RoomUnread[]> {
    if (!rooms.length) return [];
    const snap = await this.cache.snapshot(userId, rooms);
    const stale = rooms.flatMap((r, i) => (snap[i].unreadCount === null ? [{ ...r, ...snap[i] }] : []));
    const counted = new Map((await this.count(userId, stale)).map((c) => [c.chatroomId, c]));
    const fresh = new Map<number, CachedCount>();
    for (const [i, r] of rooms.entries()) {
      const c = counted.get(r.chatroomId);
      if (c) fresh.set(r.chatroomId, { ...snap[i], readSeq: r.readSeq, unreadCount: c.unreadCount });
    }
    this.cache.store(userId, fresh);
    return rooms.map((r, i) => ({
      chatroomId: r.chatroomId,
      readSeq: r.readSeq,
      lastSeq: snap[i].lastSeq,
      unreadCount: counted.get(r.chatroomId)?.unreadCount ?? snap[i].unreadCount!,
    }));
  }

  /** Unread counts of every room of a member (for totals). */
  async unreadOfUser(userId: number): Promise<RoomUnread[]> {
    return this.unread(userId, await this.positions(userId));
  }

  /** After a tombstone: the room's cached counts are stale for every member. */
  roomCountsChanged(chatroomId: number): Promise<void> {
    return this.cache.roomChanged(chatroomId);
  }

  /**
   * Counts rooms from their pending buffers and the tables, at the snapshot's last seqs.
   * Buffers first, tables second: a message the worker stores in between is then seen in
   * one or the other, never in neither. And buffers are read whenever they hold anything,
   * not only when the live seq is ahead of the table: the worker inserts a message as it was
   * sent and re-applies a retraction recorded while it was queued just after, so for a
   * moment the row is live while its pending entry already is a tombstone.
   */
  private async count(userId: number, rooms: (MemberPosition & RoomSnapshot)[]): Promise<RoomUnread[]> {
    if (!rooms.length) return [];
    const buffered = rooms.filter((r) => r.hasPending).map((r) => r.chatroomId);
    const buffers = await this.pending.ofRooms(buffered);
    const queued = new Map(buffered.map((id, i) => [id, buffers[i]]));
    const excluded = await this.excludedSeqs(userId, rooms);
    return rooms.map((r) => {
      const skip = excluded.get(r.chatroomId) ?? new Set<number>();
      for (const m of queued.get(r.chatroomId) ?? [])
        if (m.seq > r.readSeq && isExcludedPending(m, userId)) skip.add(m.seq);
      const inRange = [...skip].filter((s) => s > r.readSeq && s <= r.lastSeq).length;
      return {
        chatroomId: r.chatroomId,
        readSeq: r.readSeq,
        lastSeq: r.lastSeq,
        unreadCount: Math.max(0, r.lastSeq - r.readSeq - inRange),
      };
    });
  }

  /** Every room of a member with its position (for totals). */
  async positions(userId: number): Promise<MemberPosition[]> {
    const { rows } = await this.prisma.pool.query<MemberPosition>({
      name: 'read-state.positions',
      text: POSITIONS_SQL,
      values: [userId],
    });
    return rows;
  }

  /**
   * Moves the read position forward (never back) to `seq`, clamped to the room's last seq
   * (the live counter `liveSeq`, or the stored last seq where Redis has no counter, as after
   * a restart), and prunes the out-of-order reads it now covers. Returns the new position,
   * whether it moved (false for a mark at or below it), and all the member's positions after
   * the move; null when the user is not a member.
   */
  async advance(
    userId: number,
    chatroomId: number,
    seq: number,
    liveSeq: number | null,
  ): Promise<{ readSeq: number; advanced: boolean; positions: MemberPosition[] } | null> {
    const { rows } = await this.prisma.pool.query<MemberPosition & { moved: boolean; advanced: boolean | null }>({
      name: 'read-state.advance',
      text: ADVANCE_SQL,
      values: [seq, chatroomId, userId, liveSeq ?? 0],
    });
    const moved = rows.find((r) => r.moved);
    if (!moved) return null;
    const positions = rows.map(({ moved: _, advanced: __, ...p }) => p);
    return { readSeq: moved.readSeq, advanced: moved.advanced === true, positions };
  }

  /**
   * Marks single messages read (beyond the position); already-covered ones are no-ops.
   * Returns the rooms where a message became read, one entry per new mark: marks already
   * there are skipped by the insert and not returned, so a repeat tells nobody anything.
   */
  async markSeqs(userId: number, marks: { chatroomId: number; seq: number; readSeq: number }[]): Promise<number[]> {
    const beyond = marks.filter((m) => m.seq > m.readSeq);
    if (!beyond.length) return [];
    const added = await this.prisma.messageRead.createManyAndReturn({
      data: beyond.map((m) => ({ userId, chatroomId: m.chatroomId, seq: m.seq })),
      skipDuplicates: true,
      select: { chatroomId: true },
    });
    // Every room marked, not only those that gained a row: a retry after a failed token
    // write (the insert landed, Redis did not) must still replace the token.
    await this.cache.memberChanged(
      userId,
      beyond.map((m) => m.chatroomId),
    );
    return added.map((r) => r.chatroomId);
  }

  async hide(userId: number, items: { chatroomId: number; seq: number }[]): Promise<void> {
    if (!items.length) return;
    await this.prisma.messageHidden.createMany({
      data: items.map((m) => ({ userId, chatroomId: m.chatroomId, seq: m.seq })),
      skipDuplicates: true,
    });
    await this.cache.memberChanged(
      userId,
      items.map((m) => m.chatroomId),
    );
  }

  /** Of these (room, seq) pairs: which I read out of order, which I hid. One statement. */
  async marksOf(
    userId: number,
    pairs: { chatroomId: number; seq: number }[],
  ): Promise<{ read: Set<string>; hidden: Set<string> }> {
    const read = new Set<string>();
    const hidden = new Set<string>();
    if (!pairs.length) return { read, hidden };
    const rooms = pairs.map((p) => p.chatroomId);
    const seqs = pairs.map((p) => p.seq);
    const rows = await this.prisma.$queryRaw<{ chatroom_id: number; seq: number; kind: string }[]>`
      SELECT x.chatroom_id, x.seq, 'read' AS kind FROM message_reads x
        JOIN unnest(${rooms}::int[], ${seqs}::int[]) AS p(room, seq) ON x.chatroom_id = p.room AND x.seq = p.seq
       WHERE x.user_id = ${userId}
      UNION ALL
      SELECT x.chatroom_id, x.seq, 'hidden' FROM message_hidden x
        JOIN unnest(${rooms}::int[], ${seqs}::int[]) AS p(room, seq) ON x.chatroom_id = p.room AND x.seq = p.seq
       WHERE x.user_id = ${userId}`;
    for (const r of rows) (r.kind === 'read' ? read : hidden).add(`${r.chatroom_id}:${r.seq}`);
    return { read, hidden };
  }

  /** Stored seqs after each position that do not count as unread (the sparse sets above). */
  private async excludedSeqs(userId: number, rooms: MemberPosition[]): Promise<Map<number, Set<number>>> {
    const ids = rooms.map((r) => r.chatroomId);
    const reads = rooms.map((r) => r.readSeq);
    const { rows } = await this.prisma.pool.query<{ id: number; seqs: number[] }>({
      name: 'read-state.excluded',
      text: EXCLUDED_SQL,
      values: [userId, ids, reads],
    });
    return new Map(rows.map((r) => [r.id, new Set(r.seqs)]));
  }
}

function isExcludedPending(m: QueuedMessage, userId: number): boolean {
  return m.senderId === userId || !!m.deletedAt;
}
