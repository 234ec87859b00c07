import { BeforeApplicationShutdown, Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import type DataLoader from 'dataloader';
import { LRUCache } from 'lru-cache';
import type { Server, Socket } from 'socket.io';
import { userChannel } from '../common/constants';
import { turnLoader } from '../common/turn-loader';
import { AppConfig } from '../config/app-config';
import type { UserRole } from '../generated/prisma/client';
import { PrismaService } from '../prisma/prisma.service';
import { closeRedis, RedisClient, RedisService } from '../redis/redis.service';
import type { AuthUser } from './auth.types';

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

/**
 * How often an instance re-reads the users behind its sockets: about IDENTITY_CACHE_MS, the
 * time REST takes to see a change made outside the API (SQL).
 */
export const LIVE_SOCKET_SWEEP_MS = 5_000;

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
 *
 * Changes made past the API (SQL: a disable, a delete, a token version bump) publish
 * nothing, and a socket is authenticated once: every LIVE_SOCKET_SWEEP_MS one statement
 * re-reads the users behind this instance's sockets and disconnects those whose token the
 * user as stored no longer honours (sweepSockets).
 */
@Injectable()
export class IdentityService implements OnModuleInit, BeforeApplicationShutdown, OnApplicationShutdown {
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
  private sweepTimer: NodeJS.Timeout | undefined;
  private sweepFailing = false;
  private stopped = false;

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

  /** No sweep runs, or disconnects, once shutdown has begun. */
  beforeApplicationShutdown(): void {
    this.stopped = true;
    clearTimeout(this.sweepTimer);
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.sub) await closeRedis(this.sub);
  }

  /** Moves on with every change this instance hears of (the handshake re-checks when it moved). */
  get changes(): number {
    return this.generation;
  }

  /** The socket server whose sockets a change disconnects and the sweep re-checks (the gateway attaches it). */
  attach(server: Server): void {
    this.server = server;
    if (!this.sweepTimer) this.scheduleSweep();
  }

  /** The next sweep starts LIVE_SOCKET_SWEEP_MS after the last one ended: sweeps never overlap. */
  private scheduleSweep(): void {
    if (this.stopped) return;
    this.sweepTimer = setTimeout(() => void this.runSweep(), LIVE_SOCKET_SWEEP_MS);
    this.sweepTimer.unref(); // the process may exit with it pending
  }

  private async runSweep(): Promise<void> {
    try {
      await this.sweepSockets();
      this.sweepFailing = false;
    } catch (e) {
      // Once per outage: the next sweep tries again, and sockets stay until one succeeds.
      if (!this.sweepFailing && !this.stopped) this.logger.warn(`socket user sweep: ${(e as Error).message}`);
      this.sweepFailing = true;
    } finally {
      this.scheduleSweep();
    }
  }

  /**
   * Re-reads, in one statement, the user behind every socket of this instance and
   * disconnects the sockets whose token that user no longer honours (deleted, disabled,
   * token version moved: see honours), as a change published through the API would. The
   * rows read refresh the cache, so a client reconnecting at once is refused too. Returns
   * how many sockets it disconnected.
   */
  async sweepSockets(): Promise<number> {
    const byUser = new Map<number, Socket[]>();
    for (const socket of this.server?.of('/').sockets.values() ?? []) {
      const id = (socket.data as { user?: AuthUser } | undefined)?.user?.id;
      if (id === undefined) continue;
      const sockets = byUser.get(id);
      if (sockets) sockets.push(socket);
      else byUser.set(id, [socket]);
    }
    if (byUser.size === 0 || this.stopped) return 0;
    const ids = [...byUser.keys()];
    const gen = this.generation;
    const live = await this.loadUsers(ids);
    if (this.stopped) return 0;
    let closed = 0;
    ids.forEach((id, i) => {
      if (this.cacheEnabled && gen === this.generation) this.users.set(id, { user: live[i] });
      for (const socket of byUser.get(id)!) {
        if (socket.connected && !honours(live[i], (socket.data as { user: AuthUser }).user)) {
          socket.disconnect(true);
          closed++;
        }
      }
    });
    // A handshake verifying meanwhile checks again (see `changes`), against the rows just read.
    if (closed > 0) this.generation++;
    return closed;
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

/**
 * Whether the user as stored still honours the token a socket authenticated with: the same
 * test TokenService.verify makes (exists, not disabled, token version unchanged or the
 * session a password change kept). A socket whose token version is unknown is judged on the
 * rest. Deny-listed sessions are not re-read here: logout publishes and disconnects at once.
 */
export function honours(live: LiveUser | null, user: AuthUser): boolean {
  if (!live || live.disabled) return false;
  if (user.tokenVersion === undefined || user.tokenVersion === live.tokenVersion) return true;
  return !!user.sessionId && user.sessionId === live.keptSessionId;
}
