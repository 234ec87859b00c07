import { Injectable } from '@nestjs/common';
import { AppError } from '../common/errors';
import type { MemberRole } from '../generated/prisma/client';
import { PrismaService } from '../prisma/prisma.service';

export interface MembershipInfo {
  role: MemberRole;
  readSeq: number;
}

/**
 * How long a "yes, a member" answer is reused by the socket hot path, spread by up to 50 %
 * so entries cached together (a thousand sockets joining at once) do not all expire in the
 * same instant and stall the event loop with a burst of queries.
 */
const CACHE_TTL_MS = 60_000;
const ttl = () => CACHE_TTL_MS * (1 + Math.random() * 0.5);

/**
 * "Is this user in this room?" — asked on every room event and REST call. A non-member
 * always gets 404 (rooms are not enumerable). Positive answers are cached in process for
 * the socket hot path; a removal evicts the entry on every instance at once (Broadcaster
 * relays the eviction), and the TTL bounds what a lost relay could leave behind.
 */
@Injectable()
export class MembershipService {
  private readonly cache = new Map<string, number>();
  private readonly membersCache = new Map<number, { ids: number[]; until: number }>();

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
    this.cache.set(`${userId}:${chatroomId}`, Date.now() + ttl());
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

  /** Member ids of a room, reused for a few seconds (for fan-out that may lag a little). */
  async memberIdsCached(chatroomId: number): Promise<number[]> {
    const hit = this.membersCache.get(chatroomId);
    if (hit && hit.until > Date.now()) return hit.ids;
    const ids = await this.memberIds(chatroomId);
    if (this.membersCache.size > 10_000) this.membersCache.clear();
    this.membersCache.set(chatroomId, { ids, until: Date.now() + 5000 + Math.random() * 2500 });
    return ids;
  }

  /** Ids of the members of a room. */
  async memberIds(chatroomId: number): Promise<number[]> {
    const rows = await this.prisma.membership.findMany({ where: { chatroomId }, select: { userId: true } });
    return rows.map((r) => r.userId);
  }
}
