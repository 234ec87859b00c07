import { Injectable } from '@nestjs/common';
import { Prisma } from '../generated/prisma/client';
import type { MessageRow } from '../chat-history/message.types';
import { PrismaService } from '../prisma/prisma.service';

export type InboxRow = MessageRow & { read: boolean };

export interface InboxFilter {
  chatroomId?: number;
  unread?: boolean;
  /** Only messages with an id below this (uuidv7: older). */
  before?: string;
  limit: number;
}

/**
 * Received messages across a member's rooms, newest first: others' messages, not retracted,
 * not hidden by me, with `read` from the position and the sparse reads. One statement per
 * page, walking the primary key backwards (uuidv7 ids are time-ordered).
 */
export interface InboxRoomRow {
  chatroomId: number;
  name: string;
  type: 'direct' | 'group';
  createdAt: Date;
  readSeq: number;
  storedLastSeq: number;
}

/** Plain SQL on the pool, like the read-state statements: hundreds of rows per call. */
const ROOMS_OF_SQL = `
  SELECT c.id AS "chatroomId", c.name, c.type::text AS type, c.created_at AS "createdAt",
         cm.read_seq AS "readSeq", c.last_seq AS "storedLastSeq"
    FROM chatroom_members cm JOIN chatrooms c ON c.id = cm.chatroom_id
   WHERE cm.user_id = $1`;

@Injectable()
export class InboxRepository {
  constructor(private readonly prisma: PrismaService) {}

  /** My rooms with my position: the one query GET /inbox starts from. */
  async roomsOf(userId: number): Promise<InboxRoomRow[]> {
    return (
      await this.prisma.pool.query<InboxRoomRow>({ name: 'inbox.rooms-of', text: ROOMS_OF_SQL, values: [userId] })
    ).rows;
  }

  page(userId: number, f: InboxFilter): Promise<InboxRow[]> {
    const conditions = [
      Prisma.sql`m.sender_id <> ${userId}`,
      Prisma.sql`m.deleted_at IS NULL`,
      Prisma.sql`NOT EXISTS (SELECT 1 FROM message_hidden h
                             WHERE h.user_id = ${userId} AND h.chatroom_id = m.chatroom_id AND h.seq = m.seq)`,
    ];
    if (f.chatroomId !== undefined) conditions.push(Prisma.sql`m.chatroom_id = ${f.chatroomId}`);
    if (f.before !== undefined) conditions.push(Prisma.sql`m.id < ${f.before}::uuid`);
    if (f.unread) conditions.push(Prisma.sql`m.seq > cm.read_seq AND NOT ${READ_OUT_OF_ORDER(userId)}`);
    return this.prisma.$queryRaw<InboxRow[]>`
      SELECT m.id, m.chatroom_id AS "chatroomId", m.seq, m.sender_id AS "senderId", m.type::text AS type,
             m.content, m.client_msg_id AS "clientMsgId", m.created_at AS "createdAt",
             m.edited_at AS "editedAt", m.deleted_at AS "deletedAt",
             json_build_object('id', u.id, 'username', u.username, 'nickName', u.nick_name, 'headPic', u.head_pic) AS sender,
             (m.seq <= cm.read_seq OR ${READ_OUT_OF_ORDER(userId)}) AS read
        FROM messages m
        JOIN chatroom_members cm ON cm.chatroom_id = m.chatroom_id AND cm.user_id = ${userId}
        JOIN users u ON u.id = m.sender_id
       WHERE ${Prisma.join(conditions, ' AND ')}
       ORDER BY m.id DESC
       LIMIT ${f.limit}`;
  }
}

const READ_OUT_OF_ORDER = (userId: number) => Prisma.sql`EXISTS (SELECT 1 FROM message_reads x
  WHERE x.user_id = ${userId} AND x.chatroom_id = m.chatroom_id AND x.seq = m.seq)`;
