import { Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import Redis, { RedisOptions } from 'ioredis';
import { AppConfig } from '../config/app-config';

/**
 * The process's command connection to Redis (seq counters, pending buffers, dedupe keys,
 * presence). Pub/sub and BullMQ's blocking reads need connections of their own: `duplicate()`.
 */
@Injectable()
export class RedisService implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(RedisService.name);
  private readonly lastErrorLog = new Map<string, number>();
  readonly client: Redis;

  constructor(config: AppConfig) {
    this.client = new Redis(config.redisUrl, RedisService.options());
    this.client.on('error', (err: Error) => this.warn('main', err));
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

  duplicate(extra: RedisOptions = {}): Redis {
    const copy = this.client.duplicate(extra);
    copy.on('error', (err: Error) => this.warn(extra.connectionName ?? 'duplicate', err));
    return copy;
  }

  /** After the send path drained and the worker stopped (beforeApplicationShutdown). */
  async onApplicationShutdown(): Promise<void> {
    await closeRedis(this.client);
  }
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
export async function closeRedis(client: Redis): Promise<void> {
  if (client.status !== 'ready') {
    client.disconnect();
    return;
  }
  await client.quit().catch(() => client.disconnect());
}
