import { Controller, Get, Headers, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { timingSafeEqual } from 'node:crypto';
import { Public } from '../auth/decorators';
import { AppError, ErrorCode } from '../common/errors';
import { ApiErrors, ApiPublic } from '../common/openapi';
import { AppConfig } from '../config/app-config';
import { MetricsService } from './metrics.service';

/**
 * Prometheus scrape endpoint. Outside the JWT guard: Prometheus holds no user token. With
 * METRICS_TOKEN set it wants that as a bearer token instead.
 */
@ApiTags('operations')
@ApiPublic()
@Public()
@Controller('metrics')
export class MetricsController {
  constructor(
    private readonly metrics: MetricsService,
    private readonly config: AppConfig,
  ) {}

  @Get()
  @ApiOperation({ summary: 'Prometheus metrics (text format); with METRICS_TOKEN set, that token as a bearer token' })
  @ApiOkResponse({ content: { 'text/plain': { schema: { type: 'string' } } }, description: 'The exposition text' })
  @ApiErrors(401)
  async scrape(@Headers('authorization') authorization: string | undefined, @Res() res: Response): Promise<void> {
    if (this.config.metricsToken && !sameSecret(authorization ?? '', `Bearer ${this.config.metricsToken}`)) {
      throw new AppError(ErrorCode.Unauthorized, 'A valid metrics token is required');
    }
    const body = await this.metrics.scrape();
    res.setHeader('content-type', this.metrics.registry.contentType);
    res.send(body);
  }
}

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}
