import { BullModule } from '@nestjs/bullmq';
import { DynamicModule, Module } from '@nestjs/common';
import { Queues } from '../common/constants';
import { HealthController } from './health.controller';
import { HealthService } from './health.service';
import { LoopLag } from './loop-lag';
import { ReadinessService } from './readiness.service';
import { WorkerStatus } from './worker-status';

@Module({})
export class HealthModule {
  static register(history: DynamicModule): DynamicModule {
    return {
      module: HealthModule,
      imports: [history, BullModule.registerQueue({ name: Queues.MessagePersist })],
      controllers: [HealthController],
      providers: [HealthService, ReadinessService, LoopLag, WorkerStatus],
      exports: [WorkerStatus],
    };
  }
}
