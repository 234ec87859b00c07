import { Injectable } from '@nestjs/common';
import { AppError } from '../common/errors';
import type { MemberRole } from '../generated/prisma/client';
import { PrismaService } from '../prisma/prisma.service';

export interface MembershipInfo {
  role: MemberRole;
  readSeq: number;
}

/** How long a "yes, a member" answer is reused by the socket hot path. */
const CACHE_TTL_MS = 5000;

/**
 * "Is this user in this room?" — asked on every room event and REST call. A non-member
 * always gets 404 (rooms are not enumerable). Positive answers are cached briefly in
 * process for the socket send path; removal on this instance evicts at once, other
 * instances forget within CACHE_TTL_MS (and the removed user's sockets are taken out of the
 * room's broadcast everywhere right away).
 */
@Injectable()
export class MembershipService {
  private readonly cache = new Map<string, number>();

  constructor(private readonly prisma: PrismaService) {}

  async get(userId: number, chatroomId: number): Promise<MembershipInfo | null> {
    return this.prisma.membership.findUnique({
      where: { chatroomId_userId: { chatroomId, userId } },
      select: { role: true, readSeq: true },
    });
  }

  /** Throws NOT_FOUND unless the user is a member; returns the membership. */
  async require(userId: number, chatroomId: number): Promise<MembershipInfo> {
    const m = await this.get(userId, chatroomId);
    if (!m) throw AppError.notFound('Chatroom');
    this.cache.set(`${userId}:${chatroomId}`, Date.now() + CACHE_TTL_MS);
    return m;
  }

  /** Cached variant for the socket hot path (send, typing). */
  async requireCached(userId: number, chatroomId: number): Promise<void> {
    const key = `${userId}:${chatroomId}`;
    const until = this.cache.get(key);
    if (until !== undefined && until > Date.now()) return;
    await this.require(userId, chatroomId);
    if (this.cache.size > 100_000) this.cache.clear(); // bounded: a full reload is cheap
  }

  evict(userId: number, chatroomId: number): void {
    this.cache.delete(`${userId}:${chatroomId}`);
  }

  /** Ids of the members of a room. */
  async memberIds(chatroomId: number): Promise<number[]> {
    const rows = await this.prisma.membership.findMany({ where: { chatroomId }, select: { userId: true } });
    return rows.map((r) => r.userId);
  }
}
