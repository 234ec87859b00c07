import { Injectable } from '@nestjs/common';
import type DataLoader from 'dataloader';
import { AppError } from '../common/errors';
import { turnLoader } from '../common/turn-loader';
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
export const CACHE_TTL_MS = 60_000;
/** The longest a cached answer lives (CACHE_TTL_MS and its spread). */
export const CACHE_MAX_TTL_MS = CACHE_TTL_MS * 1.5;
const ttl = () => CACHE_TTL_MS + Math.random() * (CACHE_MAX_TTL_MS - CACHE_TTL_MS);

/**
 * How long a removed user stays in the room's removed set (RedisKeys.roomRemoved), whose
 * sends the append script refuses whatever an instance's cache says. Longer than any cached
 * "member" answer can outlive the removal, even one whose relay was lost: such an answer
 * was read before the removal committed and is kept at most CACHE_MAX_TTL_MS from when that
 * read returned, so half a minute more covers a slow read and the instances' clocks
 * disagreeing (each remover trims the set by its own clock).
 */
export const REMOVAL_WINDOW_MS = CACHE_MAX_TTL_MS + 30_000;

/** The memberships of (user, room) pairs, in one statement (see MembershipService.get). */
const MEMBERSHIPS_SQL = `
  SELECT k.i, cm.role::text AS role, cm.read_seq AS "readSeq"
    FROM unnest($1::int[], $2::int[]) WITH ORDINALITY AS k(user_id, chatroom_id, i)
    JOIN chatroom_members cm ON cm.user_id = k.user_id AND cm.chatroom_id = k.chatroom_id`;

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
  /** Counts evictions: a member list read while one happened may miss it, and is not kept. */
  private evictions = 0;
  private readonly loader: DataLoader<{ userId: number; chatroomId: number }, MembershipInfo | null>;

  constructor(private readonly prisma: PrismaService) {
    this.loader = turnLoader((keys) => this.load(keys));
  }

  /**
   * The lookups of one event-loop turn go to PostgreSQL as one statement: joins and syncs
   * after a restart ask for thousands at once. Plain SQL on the pool, as for the other hot
   * statements.
   */
  get(userId: number, chatroomId: number): Promise<MembershipInfo | null> {
    return this.loader.load({ userId, chatroomId });
  }

  private async load(keys: readonly { userId: number; chatroomId: number }[]): Promise<(MembershipInfo | null)[]> {
    const { rows } = await this.prisma.pool.query<{ i: string; role: MemberRole; readSeq: number }>({
      name: 'membership.of',
      text: MEMBERSHIPS_SQL,
      values: [keys.map((k) => k.userId), keys.map((k) => k.chatroomId)],
    });
    const out = new Array<MembershipInfo | null>(keys.length).fill(null);
    for (const r of rows) out[Number(r.i) - 1] = { role: r.role, readSeq: r.readSeq };
    return out;
  }

  /**
   * Throws NOT_FOUND unless the user is a member; returns the membership. The "yes" is kept
   * for requireCached only if no eviction happened while it was read: a removal landing
   * during the read would otherwise be undone by caching the answer read before it, and the
   * removed user could send to the room until the entry expired (a hostile probe did, racing
   * its own joins against its kick).
   */
  async require(userId: number, chatroomId: number): Promise<MembershipInfo> {
    const evictions = this.evictions;
    const m = await this.get(userId, chatroomId);
    if (!m) throw AppError.notFound('Chatroom');
    if (evictions === this.evictions) this.cache.set(`${userId}:${chatroomId}`, Date.now() + ttl());
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

  /**
   * A member joined or left the room (here, or on a peer: Broadcaster relays it): the pair's
   * answer and the room's member list are read again when next asked. Without `userId` (an
   * addition: only "yes" answers are cached, and the new members had none), the list alone.
   */
  evict(userId: number | undefined, chatroomId: number): void {
    if (userId !== undefined) this.cache.delete(`${userId}:${chatroomId}`);
    this.membersCache.delete(chatroomId);
    this.evictions++;
  }

  /** Where the evictions stand now, for evictedSince. */
  mark(): number {
    return this.evictions;
  }

  /** Whether a membership changed (here, or relayed from a peer) since `mark`. */
  evictedSince(mark: number): boolean {
    return this.evictions !== mark;
  }

  /**
   * Member ids of a room, for the inbox notifier's fan-out. Kept as long as a membership
   * answer (CACHE_TTL_MS): every change of the room's members drops it on every instance
   * (evict), so the TTL only bounds what a lost relay leaves. Kept for a few seconds
   * instead, every busy room cost the main thread a query every few seconds (about 13 a
   * second with 100 busy rooms, in the bench).
   */
  async memberIdsCached(chatroomId: number): Promise<number[]> {
    const hit = this.membersCache.get(chatroomId);
    if (hit && hit.until > Date.now()) return hit.ids;
    const evictions = this.evictions;
    const ids = await this.memberIds(chatroomId);
    if (evictions !== this.evictions) return ids;
    if (this.membersCache.size > 10_000) this.membersCache.clear();
    this.membersCache.set(chatroomId, { ids, until: Date.now() + ttl() });
    return ids;
  }

  /**
   * Ids of the members of a room. Plain SQL on the pool, a prepared statement: the inbox
   * notifier asks for every active room every few seconds, and through the query engine each
   * answer cost the main thread several times what the statement costs PostgreSQL.
   */
  async memberIds(chatroomId: number): Promise<number[]> {
    const { rows } = await this.prisma.pool.query<{ userId: number }>({
      name: 'membership.member-ids',
      text: 'SELECT user_id AS "userId" FROM chatroom_members WHERE chatroom_id = $1',
      values: [chatroomId],
    });
    return rows.map((r) => r.userId);
  }
}
