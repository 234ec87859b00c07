import { Module } from '@nestjs/common';
import { MetricsController } from './metrics.controller';
import { MetricsServiceModule } from './metrics-service.module';

/** `GET /metrics`, over the global MetricsService. */
@Module({ imports: [MetricsServiceModule], controllers: [MetricsController] })
export class MetricsModule {}
