import { Injectable } from '@nestjs/common';
import { Prisma } from '../generated/prisma/client';
import { PrismaService } from '../prisma/prisma.service';
import type { MessageRow } from './message.types';
import { type Sized, sizedRows, sizedRowsSql, type SizedRows } from '../common/sized-rows';
import type { MessagePatch, PatchOutcome } from './pending-message.store';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A message row with its sender, as every message read returns it. */
export const SELECT_WITH_SENDER = Prisma.sql`
  SELECT m.id, m.chatroom_id AS "chatroomId", m.seq, m.sender_id AS "senderId", m.type::text AS type,
         m.content, m.client_msg_id AS "clientMsgId", m.created_at AS "createdAt",
         m.edited_at AS "editedAt", m.deleted_at AS "deletedAt",
         json_build_object('id', u.id, 'username', u.username, 'nickName', u.nick_name, 'headPic', u.head_pic) AS sender
    FROM messages m
    JOIN users u ON u.id = m.sender_id`;

/**
 * The newest message of each room (GET /inbox, room lists): one index probe per room. Plain
 * SQL on the pool: for a user in hundreds of rooms, the query engine's row mapping took
 * longer than the statement (bench:reads).
 */
const LATEST_OF_SQL = `
  SELECT l.* FROM unnest($1::int[]) AS r(id)
  CROSS JOIN LATERAL (${SELECT_WITH_SENDER.sql}
    WHERE m.chatroom_id = r.id ORDER BY m.seq DESC LIMIT 1) l`;

/**
 * The server's SQL of stored messages: reads and patches. Pages are one statement each,
 * senders joined in, walking the (chatroom_id, seq) unique index — never a query per row.
 * What the persistence worker writes is MessageWriteRepository's.
 */
@Injectable()
export class MessageRepository {
  constructor(private readonly prisma: PrismaService) {}

  /** Newest first, seq < before; cut by size (see sizedPage). */
  pageBefore(chatroomId: number, before: number, limit: number): Promise<SizedRows<MessageRow>> {
    return this.sizedPage(Prisma.sql`m.chatroom_id = ${chatroomId} AND m.seq < ${before}`, 'DESC', limit);
  }

  /** Oldest first, seq > after; cut by size (see sizedPage). */
  pageAfter(chatroomId: number, after: number, limit: number): Promise<SizedRows<MessageRow>> {
    return this.sizedPage(Prisma.sql`m.chatroom_id = ${chatroomId} AND m.seq > ${after}`, 'ASC', limit);
  }

  /**
   * At most `limit` rows in seq order, and of those only the ones that begin within
   * PAGE_MAX_CHARS bytes (sizedRowsSql): a page of 500 messages of 4,000 control characters
   * read 2 MB to send ten of them, and a user syncing it in a loop had other users' acks wait.
   * `cut`: rows were left out for size, so the caller's page ends at the last row.
   */
  private async sizedPage(where: Prisma.Sql, order: 'ASC' | 'DESC', limit: number): Promise<SizedRows<MessageRow>> {
    const dir = Prisma.raw(order);
    const page = Prisma.sql`${SELECT_WITH_SENDER} WHERE ${where} ORDER BY m.seq ${dir} LIMIT ${limit}`;
    return sizedRows(await this.prisma.$queryRaw<Sized<MessageRow>[]>(sizedRowsSql(page, 'seq', order)));
  }

  /** The newest stored message of each room (one statement, one index probe per room). */
  async latestOf(chatroomIds: number[]): Promise<MessageRow[]> {
    if (!chatroomIds.length) return [];
    return (
      await this.prisma.pool.query<MessageRow>({
        name: 'messages.latest-of',
        text: LATEST_OF_SQL,
        values: [chatroomIds],
      })
    ).rows;
  }

  /** Stored messages among these ids (one statement, primary key); malformed ids match nothing. */
  findByIds(ids: string[]): Promise<MessageRow[]> {
    const valid = ids.filter((id) => UUID.test(id));
    if (!valid.length) return Promise.resolve([]);
    return this.prisma.$queryRaw<MessageRow[]>`${SELECT_WITH_SENDER} WHERE m.id = ANY(${valid}::uuid[])`;
  }

  /**
   * Edits or tombstones a stored row, in one statement that also says why it did not:
   * `retracted`, the row is a tombstone already (one never gets content back, and keeps its
   * first deletedAt); `superseded`, an edit as recent or later (edited_at) is stored already;
   * `missing`, there is no such row. The decision is the UPDATE's own WHERE, which
   * PostgreSQL checks again on the newest version of a row changed meanwhile: a retraction
   * or a later edit committed first always wins, whatever the caller read. Which of the two
   * refused is read after, in a statement of its own: the first one's snapshot may predate
   * the change that refused it.
   */
  async applyPatch(id: string, patch: MessagePatch): Promise<PatchOutcome | 'missing'> {
    const editedAt = patch.editedAt ?? null;
    const [r] = await this.prisma.$queryRaw<{ applied: boolean; found: boolean }[]>`
      WITH target AS (SELECT 1 FROM messages WHERE id = ${id}::uuid),
      patched AS (
        UPDATE messages SET
          content = COALESCE(${patch.deletedAt ? '' : (patch.content ?? null)}, content),
          edited_at = COALESCE(${editedAt}::timestamptz, edited_at),
          deleted_at = COALESCE(${patch.deletedAt ?? null}::timestamptz, deleted_at),
          deleted_by_id = COALESCE(${patch.deletedById ?? null}::int, deleted_by_id)
        WHERE id = ${id}::uuid AND deleted_at IS NULL
          AND (${editedAt}::timestamptz IS NULL OR edited_at IS NULL OR edited_at < ${editedAt}::timestamptz)
        RETURNING 1)
      SELECT EXISTS (SELECT 1 FROM patched) AS applied, EXISTS (SELECT 1 FROM target) AS found`;
    if (r.applied) return 'applied';
    if (!r.found) return 'missing';
    const [now] = await this.prisma.$queryRaw<{ deleted: boolean }[]>`
      SELECT deleted_at IS NOT NULL AS deleted FROM messages WHERE id = ${id}::uuid`;
    if (!now) return 'missing';
    return now.deleted ? 'retracted' : 'superseded';
  }

  async highestSeq(chatroomId: number): Promise<number> {
    const rows = await this.prisma.$queryRaw<{ max: number | null }[]>`
      SELECT max(seq) AS max FROM messages WHERE chatroom_id = ${chatroomId}`;
    return rows[0]?.max ?? 0;
  }
}
