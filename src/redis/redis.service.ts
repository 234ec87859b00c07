import { Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import calculateSlot from 'cluster-key-slot';
import Redis, { Cluster, ClusterOptions, RedisOptions } from 'ioredis';
import { AppConfig } from '../config/app-config';

/** A single Redis or a Redis Cluster: both speak the same commands (ioredis). */
export type RedisClient = Redis | Cluster;

/** Options of one connection, whichever the topology. */
export type ConnectionOptions = Pick<
  RedisOptions,
  'connectionName' | 'enableOfflineQueue' | 'maxRetriesPerRequest' | 'lazyConnect'
> & {
  /** Cluster only: SSUBSCRIBE through per-shard subscribers (the sharded socket.io adapter). */
  shardedSubscribers?: boolean;
};

/**
 * The process's command connection to Redis (seq counters, pending buffers, dedupe keys,
 * presence), a single server (REDIS_URL) or a cluster (REDIS_CLUSTER_NODES). Pub/sub and
 * BullMQ's blocking reads need connections of their own: `duplicate()`.
 *
 * Both topologies run the same code: every Lua script and MULTI touches the keys of one
 * hash tag (see RedisKeys), and commands over many keys go through `mget`/`each`, which
 * split them by slot on a cluster. Commands sent in one tick travel together (pipelined on
 * the connection; auto-pipelined per node on a cluster), so `each` costs one round trip.
 */
@Injectable()
export class RedisService implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(RedisService.name);
  private readonly lastErrorLog = new Map<string, number>();
  readonly client: RedisClient;
  readonly isCluster: boolean;
  private queueClient: RedisClient | undefined;

  constructor(private readonly config: AppConfig) {
    this.isCluster = config.redisClusterNodes.length > 0;
    this.client = this.connect({ connectionName: 'main' });
  }

  /** Reconnect errors repeat every retry; one line per connection every 10 s is enough. */
  private warn(name: string, err: Error): void {
    const now = Date.now();
    if (now - (this.lastErrorLog.get(name) ?? 0) < 10_000) return;
    this.lastErrorLog.set(name, now);
    this.logger.warn(`Redis (${name}): ${err.message}`);
  }

  /**
   * Fail fast while Redis is away (no offline queue), so a send is refused with
   * UNAVAILABLE instead of hanging; reconnect in the background.
   */
  static options(): RedisOptions {
    return {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      connectTimeout: 2000,
      retryStrategy: reconnectDelay,
    };
  }

  /**
   * Gives the first connection a moment before serving, so the first requests do not fail
   * fast on a connection that is still opening. An unreachable Redis does not block the
   * boot (main.ts checks reachability first; /health reports it).
   */
  async onModuleInit(): Promise<void> {
    await this.ready();
  }

  /** Resolves once connected, or after 3 s (see onModuleInit). */
  async ready(): Promise<void> {
    if (this.client.status === 'ready') return;
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.client.off('ready', done);
        resolve();
      };
      const timer = setTimeout(done, 3000);
      this.client.once('ready', done);
    });
  }

  /**
   * What BullMQ connects with. A single Redis: options (BullMQ 6 takes the URL itself and
   * owns its connections); workers need unlimited retries on their blocking reads. A
   * cluster: a client (BullMQ duplicates it for blocking reads), which BullMQ never closes
   * since it was given, so it is closed here, after the queues.
   */
  queueConnection(): RedisClient | { url: string; maxRetriesPerRequest: null; retryStrategy: typeof reconnectDelay } {
    if (!this.isCluster)
      return { url: this.config.redisUrl, maxRetriesPerRequest: null, retryStrategy: reconnectDelay };
    return (this.queueClient ??= this.connect({
      connectionName: 'bullmq',
      maxRetriesPerRequest: null,
      enableOfflineQueue: true,
    }));
  }

  /** A new connection of the same topology (pub/sub, BullMQ), with its own options. */
  duplicate(extra: ConnectionOptions = {}): RedisClient {
    return this.connect(extra);
  }

  private connect(extra: ConnectionOptions): RedisClient {
    const { shardedSubscribers, ...own } = extra;
    const options = { ...RedisService.options(), ...own };
    const client = this.isCluster
      ? new Cluster(this.config.redisClusterNodes, clusterOptions(options, this.config, shardedSubscribers))
      : new Redis(this.config.redisUrl, options);
    client.on('error', (err: Error) => this.warn(extra.connectionName ?? 'duplicate', err));
    return client;
  }

  /** The Redis database number keys live in (a cluster has only 0). */
  get db(): number {
    return this.isCluster ? 0 : Number(new URL(this.config.redisUrl).pathname.slice(1) || '0');
  }

  /** GET of many keys: one MGET, or on a cluster one per slot (MGET cannot cross slots). */
  async mget(keys: string[]): Promise<(string | null)[]> {
    if (!keys.length) return [];
    if (!this.isCluster) return this.client.mget(keys);
    const bySlot = new Map<number, number[]>();
    keys.forEach((key, i) => {
      const slot = calculateSlot(key);
      const at = bySlot.get(slot);
      if (at) at.push(i);
      else bySlot.set(slot, [i]);
    });
    const out = new Array<string | null>(keys.length).fill(null);
    await Promise.all(
      [...bySlot.values()].map(async (indexes) => {
        const values = await this.client.mget(indexes.map((i) => keys[i]));
        indexes.forEach((at, j) => (out[at] = values[j]));
      }),
    );
    return out;
  }

  /** DEL of many keys: one command, or on a cluster one per key (DEL cannot cross slots). */
  async del(keys: string[]): Promise<void> {
    if (!keys.length) return;
    if (this.isCluster) await Promise.all(keys.map((k) => this.client.del(k)));
    else await this.client.del(...keys);
  }

  /**
   * One command per item in one round trip: a pipeline on a single Redis (one write); on a
   * cluster, where a pipeline must stay on one node, the commands auto-pipelined per node.
   * `command` must issue exactly one command on the client it is given (on a single Redis
   * that is the pipeline, whose calls reply through exec). Results in item order; the first
   * error rejects.
   */
  async each<I, R>(items: readonly I[], command: (client: RedisClient, item: I) => Promise<R>): Promise<R[]> {
    if (!items.length) return [];
    if (this.isCluster) return Promise.all(items.map((item) => command(this.client, item)));
    const pipeline = this.client.pipeline();
    for (const item of items) void command(pipeline as unknown as RedisClient, item);
    const replies = (await pipeline.exec()) ?? [];
    return replies.map(([err, reply]) => {
      if (err) throw err;
      return reply as R;
    });
  }

  /** Every master's connection (one on a single Redis): for commands about a node, not a key. */
  masters(): Redis[] {
    return this.client instanceof Cluster ? this.client.nodes('master') : [this.client];
  }

  /** After the send path drained and the worker stopped (beforeApplicationShutdown). */
  async onApplicationShutdown(): Promise<void> {
    await Promise.all([closeRedis(this.client), this.queueClient && closeRedis(this.queueClient)]);
  }
}

/** The cluster's options from a single connection's: per-node options go to redisOptions. */
export function clusterOptions(options: RedisOptions, config: AppConfig, shardedSubscribers?: boolean): ClusterOptions {
  const { enableOfflineQueue, retryStrategy, ...perNode } = options;
  return {
    enableOfflineQueue,
    // What lets `each` send one write per node instead of one per command.
    enableAutoPipelining: true,
    clusterRetryStrategy: retryStrategy ?? reconnectDelay,
    shardedSubscribers,
    slotsRefreshTimeout: 2000,
    redisOptions: { ...perNode, password: config.redisClusterPassword },
  };
}

/**
 * Reconnect attempts: 100 ms, 200 ms, ... then once a second for as long as Redis is away, so
 * every connection (BullMQ's too, whose own default backs off to 20 s) is back within about a
 * second of Redis, and the worker resumes storing at once.
 */
export function reconnectDelay(times: number): number {
  return Math.min(times * 100, 1000);
}

/** QUIT when connected (flushes pending replies); otherwise just drop the socket, as QUIT would wait for a connection. */
export async function closeRedis(client: RedisClient): Promise<void> {
  if (client.status !== 'ready') {
    client.disconnect();
    return;
  }
  await client.quit().catch(() => client.disconnect());
}
