import { DynamicModule, Module } from '@nestjs/common';
import { HealthController } from './health.controller';
import { HealthService } from './health.service';

@Module({})
export class HealthModule {
  static register(history: DynamicModule): DynamicModule {
    return { module: HealthModule, imports: [history], controllers: [HealthController], providers: [HealthService] };
  }
}
