import { DynamicModule, Module } from '@nestjs/common';
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
      imports: [history],
      controllers: [HealthController],
      providers: [HealthService, ReadinessService, LoopLag, WorkerStatus],
      exports: [WorkerStatus],
    };
  }
}
