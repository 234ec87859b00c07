import { Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import type DataLoader from 'dataloader';
import { LRUCache } from 'lru-cache';
import type { Server } from 'socket.io';
import { userChannel } from '../common/constants';
import { turnLoader } from '../common/turn-loader';
import { AppConfig } from '../config/app-config';
import type { UserRole } from '../generated/prisma/client';
import { PrismaService } from '../prisma/prisma.service';
import { closeRedis, RedisClient, RedisService } from '../redis/redis.service';

/** What every request and handshake needs to know about the token's user, as stored now. */
export interface LiveUser {
  id: number;
  username: string;
  role: UserRole;
  disabled: boolean;
  tokenVersion: number;
  keptSessionId: string | null;
}

/**
 * A change to a user's identity, published to every instance. `disconnect`: 'all' drops
 * every socket of the user, 'others' every socket but those of session `sessionId`,
 * 'session' only those of `sessionId`.
 */
export interface IdentityChange {
  userId: number;
  sessionId?: string;
  disconnect?: 'all' | 'others' | 'session';
}

const REVOKED_PREFIX = 'auth:revoked:';
/** The longest a revoked session stays on the deny-list: ten years. */
const REVOKED_MAX_TTL_S = 10 * 365 * 24 * 3600;

/** The most users, and access-token sessions, whose live state an instance keeps in memory. */
const USERS_CACHED = 50_000;
const SESSIONS_CACHED = 100_000;

/**
 * An LRU cache of at most `entries` entries that lets each go after `ttlMs`. Bounded by
 * `maxSize`, each entry counting 1, rather than by `max`: with `max`, lru-cache allocates
 * its storage for every entry up front, megabytes of heap for these two caches in every
 * process however few users it serves. This way the storage grows with the entries held.
 */
export function boundedCache<K extends NonNullable<unknown>, V extends NonNullable<unknown>>(
  entries: number,
  ttlMs: number,
): LRUCache<K, V> {
  return new LRUCache<K, V>({ maxSize: entries, sizeCalculation: () => 1, ttl: ttlMs });
}

const LIVE_USERS_SQL = `
  SELECT id, username, role::text AS role, disabled_at IS NOT NULL AS disabled,
         token_version AS "tokenVersion", kept_session_id AS "keptSessionId"
    FROM users WHERE id = ANY($1::int[])`;

/**
 * The live side of authentication. Tokens are checked against the user as stored (exists,
 * not disabled, token version, role) and against the per-token deny-list, on every REST
 * call and handshake. Both answers are cached in memory for IDENTITY_CACHE_MS so the hot
 * paths cost no round trip; every change is published on Redis and each instance drops
 * its cached copy (and the user's sockets) as the message arrives, so a revocation made on
 * one instance holds on all of them at once, not after the cache expires.
 */
@Injectable()
export class IdentityService implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(IdentityService.name);
  private readonly users: LRUCache<number, { user: LiveUser | null }>;
  private readonly revoked: LRUCache<string, { revoked: boolean }>;
  /** Bumped by every change: a load that started before one must not refill the cache. */
  private generation = 0;
  private readonly channel: string;
  private sub: RedisClient | undefined;
  private server: Server | undefined;
  private readonly cacheEnabled: boolean;
  /** Cache misses of one turn in one query (a restart's reconnect storm misses for every user). */
  private readonly userLoader: DataLoader<number, LiveUser | null>;
  private readonly revokedLoader: DataLoader<string, boolean>;

  constructor(
    private readonly prisma: PrismaService,
    private readonly redis: RedisService,
    config: AppConfig,
  ) {
    const ttl = config.identityCacheMs;
    this.users = boundedCache(USERS_CACHED, Math.max(ttl, 1));
    this.revoked = boundedCache(SESSIONS_CACHED, Math.max(ttl, 1));
    this.cacheEnabled = ttl > 0;
    // Pub/sub channels span the Redis server, not one database: scope it like the adapter does.
    this.channel = `chat:identity-changed#${redis.db}`;
    this.userLoader = turnLoader((ids) => this.loadUsers(ids));
    this.revokedLoader = turnLoader(async (sessionIds) =>
      (await this.redis.mget(sessionIds.map((id) => REVOKED_PREFIX + id))).map((v) => v !== null),
    );
  }

  onModuleInit(): void {
    this.sub = this.redis.duplicate({
      connectionName: 'identity-sub',
      enableOfflineQueue: true,
      maxRetriesPerRequest: null,
    });
    this.sub.on('message', (_channel: string, raw: string) => this.applyRemote(raw));
    // Changes published while the subscription was down were missed: forget everything cached.
    this.sub.on('ready', () => this.clearCaches());
    // Not awaited: with Redis down at boot the subscription waits for it (offline queue), and
    // the server must still come up and answer /health with 503 meanwhile.
    this.sub.subscribe(this.channel).catch((e: Error) => this.logger.warn(`subscribe: ${e.message}`));
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.sub) await closeRedis(this.sub);
  }

  /** Moves on with every change this instance hears of (the handshake re-checks when it moved). */
  get changes(): number {
    return this.generation;
  }

  /** The socket server whose sockets a change disconnects (the gateway attaches it). */
  attach(server: Server): void {
    this.server = server;
  }

  /**
   * The role as stored, past the cache: admin rights end at once with a demotion or a
   * disable, even one made outside the API (SQL, `admin:create`).
   */
  async isAdmin(id: number): Promise<boolean> {
    const row = await this.user(id, true);
    return row?.role === 'admin' && !row.disabled;
  }

  /** The user as stored (null: deleted), from the cache unless `fresh`. */
  async user(id: number, fresh = false): Promise<LiveUser | null> {
    const hit = !fresh && this.users.get(id);
    if (hit) return hit.user;
    const gen = this.generation;
    const user = await this.userLoader.load(id);
    if (this.cacheEnabled && gen === this.generation) this.users.set(id, { user });
    return user;
  }

  /** Plain SQL on the pool, as for the other hot statements: every handshake after a restart asks. */
  private async loadUsers(ids: readonly number[]): Promise<(LiveUser | null)[]> {
    const { rows } = await this.prisma.pool.query<LiveUser>({
      name: 'users.live',
      text: LIVE_USERS_SQL,
      values: [[...new Set(ids)]],
    });
    const byId = new Map(rows.map((row) => [row.id, row]));
    return ids.map((id) => byId.get(id) ?? null);
  }

  /** Whether this one token (jti) was logged out. */
  async isRevoked(sessionId: string): Promise<boolean> {
    const hit = this.revoked.get(sessionId);
    if (hit) return hit.revoked;
    const gen = this.generation;
    const revoked = await this.revokedLoader.load(sessionId);
    if (this.cacheEnabled && gen === this.generation) this.revoked.set(sessionId, { revoked });
    return revoked;
  }

  /** Deny-lists one token until it would have expired anyway, on every instance. */
  async revokeSession(userId: number, sessionId: string, expiresAt: number): Promise<void> {
    // Past REVOKED_MAX_TTL_S Redis refuses the expiry (a signed token with exp 1e300 made
    // logout fail); a token that lives longer than that is as good as forever.
    const ttl = Math.min(REVOKED_MAX_TTL_S, Math.max(1, Math.ceil(expiresAt - Date.now() / 1000)));
    await this.redis.client.set(REVOKED_PREFIX + sessionId, '1', 'EX', ttl);
    await this.changed({ userId, sessionId, disconnect: 'session' });
  }

  /**
   * Call after the user's row changed (role, disabled, token version): drops the cached
   * copy here at once and on every other instance as the message arrives, and disconnects
   * sockets as `change.disconnect` says.
   */
  async changed(change: IdentityChange): Promise<void> {
    this.apply(change);
    await this.redis.client.publish(this.channel, JSON.stringify(change));
  }

  private applyRemote(raw: string): void {
    try {
      this.apply(JSON.parse(raw) as IdentityChange);
    } catch (e) {
      this.logger.warn(`bad identity message: ${(e as Error).message}`);
    }
  }

  private apply(change: IdentityChange): void {
    this.generation++;
    this.users.delete(change.userId);
    if (change.sessionId) this.revoked.delete(change.sessionId);
    if (change.disconnect) this.disconnectLocal(change);
  }

  /** This instance's sockets only: every instance runs this for every change it hears. */
  private disconnectLocal({ userId, sessionId, disconnect }: IdentityChange): void {
    const nsp = this.server?.of('/');
    if (!nsp) return;
    const ids = nsp.adapter.rooms.get(userChannel(userId));
    for (const id of ids ? [...ids] : []) {
      const socket = nsp.sockets.get(id);
      const own = (socket?.data as { user?: { sessionId?: string } } | undefined)?.user?.sessionId;
      const drop =
        disconnect === 'all' ||
        (disconnect === 'session' && own === sessionId) ||
        (disconnect === 'others' && own !== sessionId);
      if (drop) socket?.disconnect(true);
    }
  }

  private clearCaches(): void {
    this.generation++;
    this.users.clear();
    this.revoked.clear();
  }
}
