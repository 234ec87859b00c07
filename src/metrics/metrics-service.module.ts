import { Global, Module } from '@nestjs/common';
import { MetricsService } from './metrics.service';

/**
 * Global: any feature may count into MetricsService. A file apart from MetricsModule because
 * the persistence thread counts too but serves no HTTP: it loads this, not the controller.
 */
@Global()
@Module({ providers: [MetricsService], exports: [MetricsService] })
export class MetricsServiceModule {}
