import { Injectable } from '@nestjs/common';
import { Prisma } from '../generated/prisma/client';
import { PrismaService } from '../prisma/prisma.service';
import type { MessageRow, QueuedMessage } from './message.types';

const SELECT_WITH_SENDER = Prisma.sql`
  SELECT m.id, m.chatroom_id AS "chatroomId", m.seq, m.sender_id AS "senderId", m.type::text AS type,
         m.content, m.client_msg_id AS "clientMsgId", m.created_at AS "createdAt",
         m.edited_at AS "editedAt", m.deleted_at AS "deletedAt",
         json_build_object('id', u.id, 'username', u.username, 'nickName', u.nick_name, 'headPic', u.head_pic) AS sender
    FROM messages m
    JOIN users u ON u.id = m.sender_id`;

/**
 * The SQL of stored messages. Pages are one statement each, senders joined in, walking the
 * (chatroom_id, seq) unique index — never a query per row.
 */
@Injectable()
export class MessageRepository {
  constructor(private readonly prisma: PrismaService) {}

  /** Newest first, seq < before. */
  pageBefore(chatroomId: number, before: number, limit: number): Promise<MessageRow[]> {
    return this.prisma.$queryRaw<MessageRow[]>`${SELECT_WITH_SENDER}
      WHERE m.chatroom_id = ${chatroomId} AND m.seq < ${before}
      ORDER BY m.seq DESC LIMIT ${limit}`;
  }

  /** Oldest first, seq > after. */
  pageAfter(chatroomId: number, after: number, limit: number): Promise<MessageRow[]> {
    return this.prisma.$queryRaw<MessageRow[]>`${SELECT_WITH_SENDER}
      WHERE m.chatroom_id = ${chatroomId} AND m.seq > ${after}
      ORDER BY m.seq ASC LIMIT ${limit}`;
  }

  /** The newest stored message of each room (one statement, one index probe per room). */
  latestOf(chatroomIds: number[]): Promise<MessageRow[]> {
    if (!chatroomIds.length) return Promise.resolve([]);
    return this.prisma.$queryRaw<MessageRow[]>`
      SELECT l.* FROM unnest(${chatroomIds}::int[]) AS r(id)
      CROSS JOIN LATERAL (${SELECT_WITH_SENDER}
        WHERE m.chatroom_id = r.id ORDER BY m.seq DESC LIMIT 1) l`;
  }

  async highestSeq(chatroomId: number): Promise<number> {
    const rows = await this.prisma.$queryRaw<{ max: number | null }[]>`
      SELECT max(seq) AS max FROM messages WHERE chatroom_id = ${chatroomId}`;
    return rows[0]?.max ?? 0;
  }

  /**
   * Stores a batch in one INSERT. ON CONFLICT DO NOTHING makes a retried or re-swept batch
   * harmless: (chatroom_id, seq) and (sender_id, client_msg_id) are unique.
   * Then advances each room's last_seq / last_message_at in one UPDATE.
   */
  async insertBatch(messages: QueuedMessage[]): Promise<number> {
    if (!messages.length) return 0;
    const inserted = await this.prisma.message.createMany({
      skipDuplicates: true,
      data: messages.map((m) => ({
        id: m.id,
        chatroomId: m.chatroomId,
        seq: m.seq,
        senderId: m.senderId,
        type: m.type,
        content: m.content,
        clientMsgId: m.clientMsgId ?? null,
        createdAt: new Date(m.createdAt),
        editedAt: m.editedAt ? new Date(m.editedAt) : null,
        deletedAt: m.deletedAt ? new Date(m.deletedAt) : null,
        deletedById: m.deletedById ?? null,
      })),
    });
    await this.advanceRooms(messages);
    return inserted.count;
  }

  private async advanceRooms(messages: QueuedMessage[]): Promise<void> {
    const last = new Map<number, { seq: number; at: string }>();
    for (const m of messages) {
      const cur = last.get(m.chatroomId);
      if (!cur || m.seq > cur.seq) last.set(m.chatroomId, { seq: m.seq, at: m.createdAt });
    }
    const ids = [...last.keys()];
    const seqs = ids.map((id) => last.get(id)!.seq);
    const ats = ids.map((id) => last.get(id)!.at);
    await this.prisma.$executeRaw`
      UPDATE chatrooms c
         SET last_seq = GREATEST(c.last_seq, v.seq),
             last_message_at = GREATEST(c.last_message_at, v.at)
        FROM unnest(${ids}::int[], ${seqs}::int[], ${ats}::timestamptz[]) AS v(id, seq, at)
       WHERE c.id = v.id`;
  }
}
