import { Injectable } from '@nestjs/common';
import { SELECT_WITH_SENDER } from '../chat-history/message.repository';
import type { MessageRow } from '../chat-history/message.types';
import { Sized, SizedRows, sizedRows, sizedRowsSql } from '../common/sized-rows';
import { Prisma } from '../generated/prisma/client';
import { PrismaService } from '../prisma/prisma.service';

/**
 * "Member cm has read message (room, seq)": its read position is at or past the seq, or it
 * read that one message out of order (message_reads, primary-key probe).
 */
const hasRead = (room: Prisma.Sql, seq: Prisma.Sql) => Prisma.sql`(cm.read_seq >= ${seq} OR EXISTS (
  SELECT 1 FROM message_reads r WHERE r.user_id = cm.user_id AND r.chatroom_id = ${room} AND r.seq = ${seq}))`;
const PAGE_ROOM = Prisma.raw('page."chatroomId"');
const PAGE_SEQ = Prisma.raw('page.seq');

export type SentRow = MessageRow & { readCount: number };
export interface Receipt {
  userId: number;
  read: boolean;
}
export interface SentFilter {
  senderId: number;
  chatroomId?: number;
  cursor?: string;
  limit: number;
}

/** The SQL of the sender and admin message routes; every page is one statement. */
@Injectable()
export class MessagesRepository {
  constructor(private readonly prisma: PrismaService) {}

  /**
   * A sender's messages newest first, walking (sender_id, id DESC). The page is cut first,
   * by `limit` and by size (sizedRowsSql, in the CTE), so read counts are computed for those
   * rows only: per row one probe of the room's members (primary key) and of message_reads.
   */
  async sentPage(f: SentFilter): Promise<SizedRows<SentRow>> {
    const room = f.chatroomId !== undefined ? Prisma.sql`AND m.chatroom_id = ${f.chatroomId}` : Prisma.empty;
    const cursor = f.cursor !== undefined ? Prisma.sql`AND m.id < ${f.cursor}::uuid` : Prisma.empty;
    const newest = Prisma.sql`${SELECT_WITH_SENDER}
      WHERE m.sender_id = ${f.senderId} ${room} ${cursor}
      ORDER BY m.id DESC LIMIT ${f.limit}`;
    return sizedRows(
      await this.prisma.$queryRaw<Sized<SentRow>[]>`
        WITH page AS (${sizedRowsSql(newest, 'id', 'DESC')})
        SELECT page.*, (SELECT count(*)::int FROM chatroom_members cm
                         WHERE cm.chatroom_id = page."chatroomId" AND cm.user_id <> page."senderId"
                           AND ${hasRead(PAGE_ROOM, PAGE_SEQ)}) AS "readCount"
          FROM page ORDER BY page.id DESC`,
    );
  }

  /** sentPage's readCount of messages not stored yet, by id (one statement). */
  async readCounts(messages: { id: string; chatroomId: number; seq: number; senderId: number }[]) {
    if (!messages.length) return new Map<string, number>();
    const rows = await this.prisma.$queryRaw<{ id: string; readCount: number }[]>`
      SELECT p.id, (SELECT count(*)::int FROM chatroom_members cm
                     WHERE cm.chatroom_id = p.room AND cm.user_id <> p.sender
                       AND ${hasRead(Prisma.raw('p.room'), Prisma.raw('p.seq'))}) AS "readCount"
        FROM unnest(${messages.map((m) => m.id)}::text[], ${messages.map((m) => m.chatroomId)}::int[],
                    ${messages.map((m) => m.seq)}::int[], ${messages.map((m) => m.senderId)}::int[])
             AS p(id, room, seq, sender)`;
    return new Map(rows.map((r) => [r.id, r.readCount]));
  }

  /** Every current member but the sender, with whether they have read the message. */
  receipts(m: { chatroomId: number; seq: number; senderId: number }): Promise<Receipt[]> {
    return this.prisma.$queryRaw<Receipt[]>`
      SELECT cm.user_id AS "userId", ${hasRead(Prisma.sql`${m.chatroomId}::int`, Prisma.sql`${m.seq}::int`)} AS read
        FROM chatroom_members cm
       WHERE cm.chatroom_id = ${m.chatroomId} AND cm.user_id <> ${m.senderId}
       ORDER BY cm.user_id`;
  }

  /**
   * Tombstones every stored row among `ids` that is not one yet, in one statement: all of
   * them or, if it fails, none. Ids not stored (yet) are simply not matched. Returns the ids
   * this statement tombstoned (a row retracted meanwhile by another request is not among them).
   */
  async tombstone(ids: string[], deletedAt: string, actorId: number): Promise<Set<string>> {
    const rows = await this.prisma.$queryRaw<{ id: string }[]>`
      UPDATE messages SET content = '', deleted_at = ${deletedAt}::timestamptz, deleted_by_id = ${actorId}::int
       WHERE id = ANY(${ids}::uuid[]) AND deleted_at IS NULL
       RETURNING id::text AS id`;
    return new Set(rows.map((r) => r.id));
  }

  /** The rooms among these that the user is a member of. */
  async memberOf(userId: number, chatroomIds: number[]): Promise<Set<number>> {
    const rows = await this.prisma.membership.findMany({
      where: { userId, chatroomId: { in: chatroomIds } },
      select: { chatroomId: true },
    });
    return new Set(rows.map((r) => r.chatroomId));
  }
}
