import { DynamicModule, MiddlewareConsumer, Module, NestModule } from '@nestjs/common';
import { APP_FILTER, APP_INTERCEPTOR, APP_PIPE } from '@nestjs/core';
import { AuthModule } from './auth/auth.module';
import { BroadcastModule } from './chat/broadcaster.service';
import { ChatModule } from './chat/chat.module';
import { ChatHistoryModule } from './chat-history/chat-history.module';
import { QueueRootModule } from './chat-history/queue-root.module';
import { ChatroomsModule } from './chatrooms/chatrooms.module';
import { HttpExceptionFilter } from './common/http-exception.filter';
import { UndeclaredInputInterceptor } from './common/undeclared-input.interceptor';
import { ShutdownHooksModule } from './common/shutdown-hooks';
import { requestId } from './common/request-id.middleware';
import { PayloadValidationPipe } from './common/payload-validation.pipe';
import { AppConfig } from './config/app-config';
import { ConfigModule } from './config/config.module';
import { DocsModule } from './docs/docs.module';
import { HealthModule } from './health/health.module';
import { InboxModule } from './inbox/inbox.module';
import { MetricsModule } from './metrics/metrics.module';
import { MessagesModule } from './messages/messages.module';
import { PrismaModule } from './prisma/prisma.module';
import { RedisModule } from './redis/redis.module';
import { UsersModule } from './users/users.module';

@Module({})
export class AppModule implements NestModule {
  /**
   * The whole application for one configuration. `httpEnabled=false` with
   * `workerEnabled=true` is the worker-only process (`npm run start:worker`). `ops`: serve
   * /metrics and /health/* even without the rest of HTTP (worker-only with WORKER_HTTP_PORT).
   */
  static forRoot(config: AppConfig, opts: { ops?: boolean } = {}): DynamicModule {
    const history = ChatHistoryModule.register({ worker: config.workerEnabled, http: config.httpEnabled });
    const infra = [
      ConfigModule.forRoot(config),
      ShutdownHooksModule,
      MetricsModule,
      PrismaModule,
      RedisModule,
      BroadcastModule,
      QueueRootModule,
      history,
    ];
    const chatrooms = ChatroomsModule.register(history);
    const inbox = InboxModule.register(history);
    const http = config.httpEnabled
      ? [
          AuthModule,
          UsersModule,
          chatrooms,
          inbox,
          ChatModule.register(history, inbox),
          MessagesModule.register(history),
          DocsModule,
        ]
      : [];
    const ops = config.httpEnabled || opts.ops ? [HealthModule.register(history)] : [];
    return {
      module: AppModule,
      imports: [...infra, ...http, ...ops],
      providers: [
        // REST validation. Nest 12 hands APP_PIPE to gateways too, but it steps aside for socket
        // payloads: ChatGateway binds SocketPayloadPipe itself (same rules, WsException errors).
        { provide: APP_PIPE, useClass: PayloadValidationPipe },
        { provide: APP_FILTER, useClass: HttpExceptionFilter },
        { provide: APP_INTERCEPTOR, useClass: UndeclaredInputInterceptor },
      ],
    };
  }

  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(requestId).forRoutes('*path');
  }
}
