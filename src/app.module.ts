import { BullModule } from '@nestjs/bullmq';
import { DynamicModule, MiddlewareConsumer, Module, NestModule } from '@nestjs/common';
import { APP_FILTER, APP_PIPE } from '@nestjs/core';
import { AuthModule } from './auth/auth.module';
import { BroadcastModule } from './chat/broadcaster.service';
import { ChatModule } from './chat/chat.module';
import { ChatHistoryModule } from './chat-history/chat-history.module';
import { ChatroomsModule } from './chatrooms/chatrooms.module';
import { HttpExceptionFilter } from './common/http-exception.filter';
import { ShutdownHooksModule } from './common/shutdown-hooks';
import { requestId } from './common/request-id.middleware';
import { PayloadValidationPipe } from './common/payload-validation.pipe';
import { AppConfig } from './config/app-config';
import { ConfigModule } from './config/config.module';
import { DocsModule } from './docs/docs.module';
import { HealthModule } from './health/health.module';
import { InboxModule } from './inbox/inbox.module';
import { MessagesModule } from './messages/messages.module';
import { PrismaModule } from './prisma/prisma.module';
import { RedisModule } from './redis/redis.module';
import { UsersModule } from './users/users.module';

@Module({})
export class AppModule implements NestModule {
  /**
   * The whole application for one configuration. `httpEnabled=false` with
   * `workerEnabled=true` is the worker-only process (`npm run start:worker`).
   */
  static forRoot(config: AppConfig): DynamicModule {
    const history = ChatHistoryModule.register({ worker: config.workerEnabled, http: config.httpEnabled });
    const infra = [
      ConfigModule.forRoot(config),
      ShutdownHooksModule,
      PrismaModule,
      RedisModule,
      BroadcastModule,
      BullModule.forRoot({
        // BullMQ 6 takes the URL itself; workers need unlimited retries on their blocking reads.
        connection: { url: config.redisUrl, maxRetriesPerRequest: null },
      }),
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
          HealthModule.register(history),
          DocsModule,
        ]
      : [];
    return {
      module: AppModule,
      imports: [...infra, ...http],
      providers: [
        // APP_PIPE reaches socket events too: one validation path for both transports.
        { provide: APP_PIPE, useClass: PayloadValidationPipe },
        { provide: APP_FILTER, useClass: HttpExceptionFilter },
      ],
    };
  }

  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(requestId).forRoutes('*path');
  }
}
