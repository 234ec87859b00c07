import { Injectable } from '@nestjs/common';
import { ChatHistoryService } from '../chat-history/chat-history.service';
import { PendingMessageStore } from '../chat-history/pending-message.store';
import { RedisKeys } from '../common/constants';
import type { Chatroom } from '../generated/prisma/client';
import { PrismaService } from '../prisma/prisma.service';
import { RedisService } from '../redis/redis.service';
import { ChatroomView } from './chatroom.presenter';

export interface RoomWithReadSeq {
  room: Chatroom;
  readSeq: number;
}

/**
 * The per-member figures of a set of rooms (member count, live last seq, unread count,
 * last message), in a fixed number of statements whatever the number of rooms.
 */
@Injectable()
export class RoomSummaryService {
  constructor(
    private readonly prisma: PrismaService,
    private readonly redis: RedisService,
    private readonly history: ChatHistoryService,
    private readonly pending: PendingMessageStore,
  ) {}

  async summarize(userId: number, rooms: RoomWithReadSeq[]): Promise<ChatroomView[]> {
    if (!rooms.length) return [];
    const ids = rooms.map((r) => r.room.id);
    const [counts, lastSeqs, latest, storedUnread, pendings] = await Promise.all([
      this.memberCounts(ids),
      this.history.lastSeqs(rooms.map((r) => r.room)),
      this.history.latest(ids),
      this.storedUnread(userId, rooms),
      this.pending.ofRooms(ids),
    ]);
    return rooms.map(({ room, readSeq }, i) => {
      const pendingUnread = pendings[i].filter(
        (m) => m.seq > readSeq && m.senderId !== userId && !m.deletedAt && !isStoredCounted(m.seq, room.lastSeq),
      ).length;
      const view: ChatroomView = {
        id: room.id,
        name: room.name,
        type: room.type,
        createdAt: room.createdAt,
        memberCount: counts.get(room.id) ?? 0,
        lastSeq: lastSeqs.get(room.id) ?? room.lastSeq,
        readSeq,
        unreadCount: (storedUnread.get(room.id) ?? 0) + pendingUnread,
      };
      const last = latest.get(room.id);
      if (last) view.lastMessage = last;
      return view;
    });
  }

  /** Which of these users have a socket open on any instance. */
  async online(userIds: number[]): Promise<Set<number>> {
    if (!userIds.length) return new Set();
    const values = await this.redis.client.mget(userIds.map((id) => RedisKeys.presence(id)));
    return new Set(userIds.filter((_, i) => Number(values[i] ?? 0) > 0));
  }

  private async memberCounts(ids: number[]): Promise<Map<number, number>> {
    const rows = await this.prisma.membership.groupBy({
      by: ['chatroomId'],
      where: { chatroomId: { in: ids } },
      _count: true,
    });
    return new Map(rows.map((r) => [r.chatroomId, r._count]));
  }

  /** Stored messages after my read position, not mine, not retracted: one statement for all rooms. */
  private async storedUnread(userId: number, rooms: RoomWithReadSeq[]): Promise<Map<number, number>> {
    const ids = rooms.map((r) => r.room.id);
    const reads = rooms.map((r) => r.readSeq);
    const rows = await this.prisma.$queryRaw<{ id: number; unread: number }[]>`
      SELECT r.id, (SELECT count(*)::int FROM messages m
                     WHERE m.chatroom_id = r.id AND m.seq > r.read_seq
                       AND m.sender_id <> ${userId} AND m.deleted_at IS NULL) AS unread
        FROM unnest(${ids}::int[], ${reads}::int[]) AS r(id, read_seq)`;
    return new Map(rows.map((r) => [r.id, r.unread]));
  }
}

/**
 * A pending message at or below the room's stored last_seq is already in the table (the
 * worker stored it and has not yet dropped it from the buffer): count it once.
 */
function isStoredCounted(seq: number, storedLastSeq: number): boolean {
  return seq <= storedLastSeq;
}
