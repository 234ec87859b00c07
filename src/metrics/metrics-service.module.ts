import { Global, Module } from '@nestjs/common';
import { PersistMetrics } from '../chat-history/persist-metrics';
import { MetricsService } from './metrics.service';

/**
 * Global: any feature may count into MetricsService (the persistence worker through its
 * PersistMetrics token). A file apart from MetricsModule, which adds the HTTP controller.
 */
@Global()
@Module({
  providers: [MetricsService, { provide: PersistMetrics, useExisting: MetricsService }],
  exports: [MetricsService, PersistMetrics],
})
export class MetricsServiceModule {}
