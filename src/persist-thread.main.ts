import 'reflect-metadata';
import { DynamicModule, Global, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { getHeapSpaceStatistics } from 'node:v8';
import { parentPort, workerData } from 'node:worker_threads';
import { MessagePersistProcessor } from './chat-history/message-persist.processor';
import { PersistMetrics } from './chat-history/persist-metrics';
import { PersistWorkerModule } from './chat-history/persist-worker.module';
import { QueueRootModule } from './chat-history/queue-root.module';
import { AppConfig } from './config/app-config';
import { ConfigModule } from './config/config.module';
import { createLogger } from './logging/logger';
import { DatabaseModule } from './prisma/database.module';
import {
  HEARTBEAT_MS,
  type PersistThreadData,
  STOP,
  type TestHook,
  type ThreadMessage,
  type ThreadMetric,
} from './persist-thread';
import { RedisModule } from './redis/redis.module';

/** The thread's counts go to the main thread, whose MetricsService observes them (PersistThread). */
class PostedPersistMetrics implements PersistMetrics {
  batchStored(size: number, seconds: number, inserted: number): void {
    parentPort!.postMessage({ type: 'metric', name: 'batch', size, seconds, inserted } satisfies ThreadMetric);
  }

  deadLettered(n: number): void {
    parentPort!.postMessage({ type: 'metric', name: 'deadLetters', n } satisfies ThreadMetric);
  }
}

@Global()
@Module({ providers: [{ provide: PersistMetrics, useClass: PostedPersistMetrics }], exports: [PersistMetrics] })
class PostedMetricsModule {}

/**
 * The persistence thread's application: the worker and the infrastructure it uses, nothing
 * else. This file is the thread's entry so that the thread never loads the rest of the app:
 * HTTP, sockets, DTOs, OpenAPI, Prisma's client (the worker's SQL runs on the pool),
 * validation (the main thread validated the config it passes) and prom-client. Code it
 * loaded stayed in its heap for the process's life (README, Performance).
 */
@Module({})
class PersistThreadModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: PersistThreadModule,
      imports: [
        ConfigModule.forRoot(config),
        PostedMetricsModule,
        DatabaseModule,
        RedisModule,
        QueueRootModule,
        PersistWorkerModule,
      ],
    };
  }
}

/** Runs the persistence worker until the main thread says stop (see PersistThread). */
async function runPersistThread(): Promise<void> {
  const data = workerData as PersistThreadData;
  const config = AppConfig.restore(data.config, { httpEnabled: false, workerEnabled: true });
  const logger = createLogger(config, config.logLevel === 'error' ? 'error' : 'warn');
  const ctx = await NestFactory.createApplicationContext(PersistThreadModule.forRoot(config), { logger });
  const processor = ctx.get(MessagePersistProcessor, { strict: false });
  const beat = () =>
    parentPort!.postMessage({
      type: 'heartbeat',
      running: processor.worker.isRunning(),
      heap: Object.fromEntries(getHeapSpaceStatistics().map((s) => [s.space_name, s.physical_space_size])),
    } satisfies ThreadMessage);
  beat();
  const heartbeat = setInterval(beat, HEARTBEAT_MS);
  parentPort!.on('message', (msg: typeof STOP | TestHook) => {
    if (msg === STOP) {
      clearInterval(heartbeat);
      void ctx.close().finally(() => process.exit(0));
    } else if (msg.type === 'test-hook' && config.nodeEnv === 'test') {
      if (msg.action === 'exit') process.exit(7);
      for (;;); // stall: the loop never turns again, as with a runaway computation
    }
  });
}

void runPersistThread();
