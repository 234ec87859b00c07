import { type INestApplicationContext, Logger } from '@nestjs/common';
import { IoAdapter } from '@nestjs/platform-socket.io';
import { createShardedAdapter } from '@socket.io/redis-adapter';
import type Redis from 'ioredis';
import type { Server, ServerOptions } from 'socket.io';
import { AppConfig } from '../config/app-config';
import { corsOptions } from '../config/cors';
import { closeRedis, RedisClient, RedisService } from '../redis/redis.service';
import { observeDroppedReplies } from './dropped-replies';
import { adapterKey, createInstanceAwareAdapter } from './instance-aware-redis-adapter';
import { lenientConnectParser } from './lenient-connect-parser';
import { capSessionsPerAddress } from './sessions-per-address';
import { ShardedSubscriptions } from './sharded-subscriptions';

/** How long shutdown waits for the clients to answer their close frame (see close). */
const CLOSE_HANDSHAKE_MS = 1000;

/**
 * How long an engine.io session may go without a socket.io CONNECT before it is closed
 * (socket.io's default is 45 s). Clients send CONNECT as soon as the session opens; a session
 * that never does is only memory held (see capSessionsPerAddress).
 */
export const SOCKET_CONNECT_TIMEOUT_MS = 10_000;

/** The per-address session cap's exemptions and its counter (see capSessionsPerAddress). */
export interface SessionCapHooks {
  exempt: (address: string) => boolean;
  onRefused: () => void;
}

/**
 * The adapters' commands whose replies they drop (observeDroppedReplies). The sharded
 * subscriptions of a cluster are observed by ShardedSubscriptions, which waits for them.
 */
const PUB_COMMANDS = ['publish', 'spublish'] as const;
const SUB_COMMANDS = ['subscribe', 'psubscribe', 'unsubscribe', 'punsubscribe'] as const;

/** What close needs of an engine.io client: its WebSocket, when it has one (ws: terminate). */
type EngineClient = { transport?: { socket?: { terminate?: () => void } } };

/**
 * socket.io with the Redis adapter: a broadcast on one instance reaches the room's sockets
 * on every instance. Also where the server-wide socket limits are set.
 *
 * - Single Redis: the Redis adapter, skipping Redis while there is no other instance to reach
 *   (InstanceAwareRedisAdapter).
 * - Redis Cluster: classic pub/sub copies every message to every node of the cluster, so the
 *   sharded adapter (Redis 7 SPUBLISH/SSUBSCRIBE): a room's channel lives on one shard, and
 *   an instance subscribes to a room's channel only while it has sockets in the room, so a
 *   broadcast reaches only the instances that have members of the room. A join ends once
 *   this instance's subscription to the room's channel is in place (ShardedSubscriptions).
 */
export class RedisIoAdapter extends IoAdapter {
  private readonly config: AppConfig;
  private readonly redis: RedisService;
  private readonly connections: RedisClient[] = [];
  private readonly subscriptions = new ShardedSubscriptions(new Logger(RedisIoAdapter.name));

  constructor(
    app: INestApplicationContext,
    private readonly sessionCap: SessionCapHooks,
  ) {
    super(app);
    this.config = app.get(AppConfig);
    this.redis = app.get(RedisService);
  }

  override createIOServer(port: number, options?: ServerOptions): Server {
    const { exempt, onRefused } = this.sessionCap;
    const sessions = capSessionsPerAddress(
      this.config.connectionsPerAddressMax,
      exempt,
      onRefused,
      originCheck(this.config.corsOrigins),
    );
    const opts: Partial<ServerOptions> = {
      ...options,
      cors: corsOptions(this.config),
      maxHttpBufferSize: this.config.wsMaxPayloadBytes,
      parser: lenientConnectParser,
      allowRequest: sessions.allowRequest,
      connectTimeout: SOCKET_CONNECT_TIMEOUT_MS,
      pingInterval: 20_000,
      pingTimeout: 20_000,
      // Upgrades outside socket.io's path are served as plain requests (serveUpgradeRequests);
      // engine.io would end their connection after a second if nothing had been written yet.
      destroyUpgrade: false,
    };
    const server: Server = super.createIOServer(port, opts as ServerOptions);
    sessions.watch(server.engine);
    // The adapter's pub/sub needs connections of its own that may queue while reconnecting.
    const own = { enableOfflineQueue: true, maxRetriesPerRequest: null };
    const logger = new Logger(RedisIoAdapter.name);
    const pub = observeDroppedReplies(this.redis.duplicate({ connectionName: 'io-pub', ...own }), PUB_COMMANDS, logger);
    const sub = observeDroppedReplies(
      this.redis.duplicate({ connectionName: 'io-sub', shardedSubscribers: true, ...own }),
      SUB_COMMANDS,
      logger,
    );
    this.connections.push(pub, sub);
    server.adapter(
      this.redis.isCluster
        ? this.subscriptions.joinsWaitForSubscription(
            createShardedAdapter(pub, this.subscriptions.observe(sub), {
              channelPrefix: adapterKey(0),
              subscriptionMode: 'dynamic',
            }),
          )
        : createInstanceAwareAdapter(pub as Redis, sub as Redis),
    );
    return server;
  }

  /**
   * ChatGateway's client events are run by SocketDispatcher, so Nest hands every socket an
   * empty list here; its default would still build a disconnect stream per socket for it.
   * A gateway with @SubscribeMessage handlers gets Nest's own binding.
   */
  override bindMessageHandlers(...[socket, handlers, transform]: Parameters<IoAdapter['bindMessageHandlers']>): void {
    if (handlers.length > 0) super.bindMessageHandlers(socket, handlers, transform);
  }

  /**
   * Shutdown. socket.io's own close runs every socket's disconnect handlers, then sends
   * every client a close frame, then waits until every connection has ended, i.e. until
   * each client has answered its close frame, for which ws allows 30 s: one client that
   * never answers (network gone, frozen process) held the process's exit that long, and
   * with many clients the exit waited for the slowest of them while the others were
   * already waiting to reconnect to the next process. Here each client gets its close
   * frame first, then its socket's handlers run (engine.io's close does both, socket by
   * socket); connections still open CLOSE_HANDSHAKE_MS after the last frame went out are
   * dropped. Their close frame is sent already, and a dropped connection is a transport
   * close to the client, so every client still reconnects.
   */
  override async close(server: Server): Promise<void> {
    if (!server.engine) return super.close(server); // a namespace: its server closes the connections
    const open = Object.values((server.engine as unknown as { clients: Record<string, EngineClient> }).clients);
    server.engine.close();
    const drop = setTimeout(() => open.forEach((c) => c.transport?.socket?.terminate?.()), CLOSE_HANDSHAKE_MS);
    try {
      await super.close(server); // the rest of socket.io's close: adapter, HTTP server
    } finally {
      clearTimeout(drop);
    }
  }

  override async dispose(): Promise<void> {
    await super.dispose();
    await Promise.all(this.connections.map((c) => closeRedis(c)));
  }
}

/**
 * With CORS_ORIGINS listed, a browser on any other origin may not open a socket either. CORS
 * alone covers only HTTP long-polling: a WebSocket upgrade is not subject to it, so a page
 * anywhere could connect with a token it holds. Pages served by this server (the web client)
 * are same-origin: their Origin names the host they asked for. Requests without an Origin
 * header (native apps, servers, Node clients) pass: browsers always send one.
 */
export function originCheck(corsOrigins: string[] | '*'): ServerOptions['allowRequest'] {
  if (corsOrigins === '*') return undefined;
  const allowed = new Set(corsOrigins);
  return (req, callback) => {
    const { origin, host } = req.headers;
    const ok = origin === undefined || allowed.has(origin) || hostOf(origin) === host;
    callback(ok ? null : 'origin not allowed', ok);
  };
}

function hostOf(origin: string): string | undefined {
  try {
    return new URL(origin).host;
  } catch {
    return undefined;
  }
}
