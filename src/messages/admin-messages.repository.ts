import { Injectable } from '@nestjs/common';
import type { MessageRow } from '../chat-history/message.types';
import { ChatroomType, Prisma } from '../generated/prisma/client';
import { PrismaService } from '../prisma/prisma.service';
import type { AdminMessagesQueryDto } from './dto/message-query.dto';
import { SELECT_WITH_SENDER } from '../chat-history/message.repository';
import { Sized, SizedRows, sizedRows, sizedRowsSql } from '../common/sized-rows';

export type AdminFilter = Omit<AdminMessagesQueryDto, 'limit'> & { limit: number };

export interface RoomSummary {
  id: number;
  name: string;
  type: ChatroomType;
}

/**
 * The WHERE clause of an admin search, composed from parameterised fragments (never string
 * concatenation). The text condition is written exactly like the expression of the GIN index
 * `messages_content_fts_idx`, to_tsvector('simple', content): any other spelling (another
 * configuration, a cast) would not match the index and would scan the table.
 */
function conditions(f: AdminFilter): Prisma.Sql {
  const c: Prisma.Sql[] = [];
  if (f.chatroomId !== undefined) c.push(Prisma.sql`m.chatroom_id = ${f.chatroomId}`);
  if (f.senderId !== undefined) c.push(Prisma.sql`m.sender_id = ${f.senderId}`);
  if (f.type !== undefined) c.push(Prisma.sql`m.type = ${f.type}::"MessageType"`);
  if (f.from !== undefined) c.push(Prisma.sql`m.created_at >= ${f.from}::timestamptz`);
  if (f.to !== undefined) c.push(Prisma.sql`m.created_at < ${f.to}::timestamptz`);
  if (!f.includeDeleted) c.push(Prisma.sql`m.deleted_at IS NULL`);
  if (f.q !== undefined) c.push(Prisma.sql`to_tsvector('simple', m.content) @@ plainto_tsquery('simple', ${f.q})`);
  if (f.cursor !== undefined) c.push(Prisma.sql`m.id < ${f.cursor}::uuid`);
  return c.length ? Prisma.sql`WHERE ${Prisma.join(c, ' AND ')}` : Prisma.empty;
}

/** Admin reads over the messages table, and the audit trail of admin actions. */
@Injectable()
export class AdminMessagesRepository {
  constructor(private readonly prisma: PrismaService) {}

  /**
   * Admin search works on the table: messages still in the pending buffer (acked a few ms
   * ago, not yet stored) are not listed. Newest first by id (UUIDv7, time-ordered), one
   * statement per page, senders joined, cut by size (sizedRowsSql).
   */
  async search(f: AdminFilter): Promise<SizedRows<MessageRow>> {
    const page = Prisma.sql`${SELECT_WITH_SENDER} ${conditions(f)} ORDER BY m.id DESC LIMIT ${f.limit}`;
    return sizedRows(await this.prisma.$queryRaw<Sized<MessageRow>[]>(sizedRowsSql(page, 'id', 'DESC')));
  }

  room(id: number): Promise<RoomSummary | null> {
    return this.prisma.chatroom.findUnique({ where: { id }, select: { id: true, name: true, type: true } });
  }

  /** Append-only: one row per admin action. */
  async audit(adminId: number, action: string, targetIds: string[], details: Prisma.InputJsonObject): Promise<void> {
    await this.prisma.adminAudit.create({ data: { adminId, action, targetIds, details } });
  }
}
