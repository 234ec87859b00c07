import type { INestApplicationContext } from '@nestjs/common';
import { IoAdapter } from '@nestjs/platform-socket.io';
import type Redis from 'ioredis';
import type { WsMessageHandler } from '@nestjs/common';
import type { Observable } from 'rxjs';
import type { Server, ServerOptions, Socket } from 'socket.io';
import { AppConfig } from '../config/app-config';
import { corsOptions } from '../config/cors';
import { closeRedis, RedisService } from '../redis/redis.service';
import { createInstanceAwareAdapter } from './instance-aware-redis-adapter';
import { bindSocketHandlers } from './socket-handlers';

/**
 * socket.io with the Redis adapter: a broadcast on one instance reaches the room's sockets
 * on every instance (and skips Redis while there is no other instance to reach). Also
 * where the server-wide socket limits are set.
 */
export class RedisIoAdapter extends IoAdapter {
  private readonly config: AppConfig;
  private readonly redis: RedisService;
  private readonly connections: Redis[] = [];

  constructor(app: INestApplicationContext) {
    super(app);
    this.config = app.get(AppConfig);
    this.redis = app.get(RedisService);
  }

  override createIOServer(port: number, options?: ServerOptions): Server {
    const opts: Partial<ServerOptions> = {
      ...options,
      cors: corsOptions(this.config),
      maxHttpBufferSize: this.config.wsMaxPayloadBytes,
      pingInterval: 20_000,
      pingTimeout: 20_000,
    };
    const server: Server = super.createIOServer(port, opts as ServerOptions);
    // The adapter's pub/sub needs connections of its own that may queue while reconnecting.
    const pub = this.redis.duplicate({
      connectionName: 'io-pub',
      enableOfflineQueue: true,
      maxRetriesPerRequest: null,
    });
    const sub = this.redis.duplicate({
      connectionName: 'io-sub',
      enableOfflineQueue: true,
      maxRetriesPerRequest: null,
    });
    this.connections.push(pub, sub);
    server.adapter(createInstanceAwareAdapter(pub, sub));
    return server;
  }

  /** Plain listeners instead of Nest's per-socket RxJS pipelines (~25 KiB per idle socket). */
  override bindMessageHandlers(
    socket: Socket,
    handlers: WsMessageHandler[],
    transform: (data: unknown) => Observable<unknown>,
  ): void {
    bindSocketHandlers(socket, handlers, transform, this.logger);
  }

  override async dispose(): Promise<void> {
    await super.dispose();
    await Promise.all(this.connections.map((c) => closeRedis(c)));
  }
}
