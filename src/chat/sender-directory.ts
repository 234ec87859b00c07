import { Injectable } from '@nestjs/common';
import type { SenderSummary } from '../chat-history/message.types';
import { AppError } from '../common/errors';
import { PrismaService } from '../prisma/prisma.service';
import { PUBLIC_USER_SELECT } from '../users/user.presenter';

/** Spread by up to 50 % so a thousand entries cached together do not all refill at once. */
const TTL_MS = 60_000;
const ttl = () => TTL_MS * (1 + Math.random() * 0.5);

/**
 * Sender names and avatars for outgoing messages, cached per process for a minute, so the
 * send path does not read the users table per message.
 */
@Injectable()
export class SenderDirectory {
  private readonly cache = new Map<number, { value: SenderSummary; until: number }>();

  constructor(private readonly prisma: PrismaService) {}

  async get(userId: number): Promise<SenderSummary> {
    const hit = this.cache.get(userId);
    if (hit && hit.until > Date.now()) return hit.value;
    const u = await this.prisma.user.findUnique({ where: { id: userId }, select: PUBLIC_USER_SELECT });
    if (!u) throw AppError.notFound('User');
    const value = { id: u.id, username: u.username, nickName: u.nickName, headPic: u.headPic };
    if (this.cache.size > 50_000) this.cache.clear();
    this.cache.set(userId, { value, until: Date.now() + ttl() });
    return value;
  }
}
