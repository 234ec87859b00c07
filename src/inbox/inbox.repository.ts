import { Injectable } from '@nestjs/common';
import { Prisma } from '../generated/prisma/client';
import type { MessageRow } from '../chat-history/message.types';
import { Sized, SizedRows, sizedRows, sizedRowsSql } from '../common/sized-rows';
import { PrismaService } from '../prisma/prisma.service';

export type InboxRow = MessageRow & { read: boolean };

export interface InboxFilter {
  chatroomId?: number;
  unread?: boolean;
  /** Only messages with an id below this (uuidv7: older). */
  before?: string;
  limit: number;
}

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

/**
 * Received messages across a member's rooms, newest first (uuidv7 ids are time-ordered):
 * others' messages, not retracted, not hidden by me, with `read` from the position and the
 * sparse reads. One statement per page.
 */
@Injectable()
export class InboxRepository {
  constructor(private readonly prisma: PrismaService) {}

  /** My rooms with my position: the one query GET /inbox starts from. */
  async roomsOf(userId: number): Promise<InboxRoomRow[]> {
    return (
      await this.prisma.pool.query<InboxRoomRow>({ name: 'inbox.rooms-of', text: ROOMS_OF_SQL, values: [userId] })
    ).rows;
  }

  /**
   * One page, newest first, from the caller's rooms: its cost follows the caller's own rooms.
   * It walked the whole table's primary key backwards before, joining each row to the
   * caller's memberships: 140-260 ms per call with a million messages in the deployment,
   * whoever asked, and a flood of them stalled every other user's reads (a probe).
   *
   * First each room's newest received message (its head). A page of `limit` holds nothing
   * older than the limit-th newest head (the floor): that many messages are at least as new.
   * So only rooms whose head reaches the floor are read, each from its newest down to the
   * floor, at most a page: a member of 200 rooms reads a few of them, not 200 pages.
   *
   * In a room, received messages walk (chatroom_id, id) backwards. Unread ones are those past
   * the read position: where at most a page is stored past it, that seq range is read and
   * sorted; where more is, they are the room's newest, and the id walk finds them at once.
   * The id walk alone would read a room back to its start for a member with nothing unread
   * there, and the seq range alone a million rows for one with a million unread. The
   * `OFFSET 0` keeps the planner from turning the range into that walk.
   *
   * Of the page's rows, only those within the size budget are sent (sizedRowsSql).
   */
  async page(userId: number, f: InboxFilter): Promise<SizedRows<InboxRow>> {
    // Of a room's messages `m`: received by me, not hidden, on this page's side of the cursor.
    const conditions = [
      Prisma.sql`m.sender_id <> ${userId}`,
      Prisma.sql`m.deleted_at IS NULL`,
      Prisma.sql`NOT EXISTS (SELECT 1 FROM message_hidden h
                             WHERE h.user_id = ${userId} AND h.chatroom_id = m.chatroom_id AND h.seq = m.seq)`,
    ];
    if (f.before !== undefined) conditions.push(Prisma.sql`m.id < ${f.before}::uuid`);
    if (f.unread) conditions.push(Prisma.sql`NOT ${READ_OUT_OF_ORDER(userId)}`);
    const received = Prisma.join(conditions, ' AND ');
    // A room's newest `take` received messages, from `since` on (no bound, or the floor).
    const perRoom = (take: number, since: Prisma.Sql) =>
      f.unread
        ? Prisma.sql`
          (SELECT m.* FROM (SELECT * FROM messages m
                             WHERE m.chatroom_id = r.chatroom_id AND m.seq > r.read_seq OFFSET 0) m
            WHERE r.last_seq - r.read_seq <= ${f.limit} AND ${received} AND ${since}
            ORDER BY m.id DESC LIMIT ${take})
          UNION ALL
          (SELECT m.* FROM messages m
            WHERE r.last_seq - r.read_seq > ${f.limit}
              AND m.chatroom_id = r.chatroom_id AND m.seq > r.read_seq AND ${received} AND ${since}
            ORDER BY m.id DESC LIMIT ${take})`
        : Prisma.sql`
          SELECT m.* FROM messages m
           WHERE m.chatroom_id = r.chatroom_id AND ${received} AND ${since}
           ORDER BY m.id DESC LIMIT ${take}`;
    const inRoom = f.chatroomId !== undefined ? Prisma.sql`AND cm.chatroom_id = ${f.chatroomId}` : Prisma.empty;
    const floor = Prisma.sql`COALESCE((SELECT head FROM floor), '00000000-0000-0000-0000-000000000000'::uuid)`;
    const newest = Prisma.sql`
      WITH rooms AS (
        SELECT cm.chatroom_id, cm.read_seq, c.last_seq
          FROM chatroom_members cm JOIN chatrooms c ON c.id = cm.chatroom_id
         WHERE cm.user_id = ${userId} ${inRoom}
      ), heads AS (
        SELECT r.*, h.id AS head FROM rooms r CROSS JOIN LATERAL (${perRoom(1, Prisma.sql`TRUE`)}) h
      ), floor AS (
        SELECT head FROM heads ORDER BY head DESC OFFSET ${f.limit - 1} LIMIT 1
      )
      SELECT m.id, m.chatroom_id AS "chatroomId", m.seq, m.sender_id AS "senderId", m.type::text AS type,
             m.content, m.client_msg_id AS "clientMsgId", m.created_at AS "createdAt",
             m.edited_at AS "editedAt", m.deleted_at AS "deletedAt",
             json_build_object('id', u.id, 'username', u.username, 'nickName', u.nick_name, 'headPic', u.head_pic) AS sender,
             (m.seq <= r.read_seq OR ${READ_OUT_OF_ORDER(userId)}) AS read
        FROM heads r
        CROSS JOIN LATERAL (${perRoom(f.limit, Prisma.sql`m.id >= ${floor}`)}) m
        JOIN users u ON u.id = m.sender_id
       WHERE r.head >= ${floor}
       ORDER BY m.id DESC
       LIMIT ${f.limit}`;
    return sizedRows(await this.prisma.$queryRaw<Sized<InboxRow>[]>(sizedRowsSql(newest, 'id', 'DESC')));
  }
}

const READ_OUT_OF_ORDER = (userId: number) => Prisma.sql`EXISTS (SELECT 1 FROM message_reads x
  WHERE x.user_id = ${userId} AND x.chatroom_id = m.chatroom_id AND x.seq = m.seq)`;
