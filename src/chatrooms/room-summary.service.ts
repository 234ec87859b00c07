import { Injectable } from '@nestjs/common';
import { ChatHistoryService } from '../chat-history/chat-history.service';
import { GracefulCounter } from '../chat/graceful-counter';
import { RedisKeys } from '../common/constants';
import type { Chatroom } from '../generated/prisma/client';
import { PrismaService } from '../prisma/prisma.service';
import { ReadStateService } from '../inbox/read-state.service';
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
    private readonly readState: ReadStateService,
  ) {}

  async summarize(userId: number, rooms: RoomWithReadSeq[]): Promise<ChatroomView[]> {
    if (!rooms.length) return [];
    const ids = rooms.map((r) => r.room.id);
    const [counts, unread] = await Promise.all([
      this.memberCounts(ids),
      this.readState.unread(
        userId,
        rooms.map((r) => ({ chatroomId: r.room.id, readSeq: r.readSeq, storedLastSeq: r.room.lastSeq })),
      ),
    ]);
    const ahead = rooms.filter((r, i) => unread[i].lastSeq > r.room.lastSeq).map((r) => r.room.id);
    const latest = await this.history.latest(ids, ahead);
    return rooms.map(({ room, readSeq }, i) => {
      const view: ChatroomView = {
        id: room.id,
        name: room.name,
        type: room.type,
        createdAt: room.createdAt,
        memberCount: counts.get(room.id) ?? 0,
        lastSeq: unread[i].lastSeq,
        readSeq,
        unreadCount: unread[i].unreadCount,
      };
      const last = latest.get(room.id);
      if (last) view.lastMessage = last;
      return view;
    });
  }

  /**
   * Which of these users have a socket open on any instance, or had one less than the
   * presence grace period ago (they have not been announced offline yet).
   */
  async online(userIds: number[]): Promise<Set<number>> {
    if (!userIds.length) return new Set();
    const results = await this.redis.each(userIds, (c, id) => c.hmget(RedisKeys.presence(id), 'n', 'g'));
    const now = Date.now();
    return new Set(userIds.filter((_, i) => GracefulCounter.present(results[i], now)));
  }

  private async memberCounts(ids: number[]): Promise<Map<number, number>> {
    const rows = await this.prisma.membership.groupBy({
      by: ['chatroomId'],
      where: { chatroomId: { in: ids } },
      _count: true,
    });
    return new Map(rows.map((r) => [r.chatroomId, r._count]));
  }
}
