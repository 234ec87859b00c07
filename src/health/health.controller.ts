import { Controller, Get, Res } from '@nestjs/common';
import { ApiExtraModels, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { ApiPublic } from '../common/openapi';
import { HealthDto, LivenessDto, QueueCountsDto, ReadinessDto } from './dto/health.response';
import type { Response } from 'express';
import { Public } from '../auth/decorators';
import { HealthService } from './health.service';
import { LoopLag } from './loop-lag';
import { ReadinessService } from './readiness.service';

@ApiTags('health')
@ApiPublic()
@ApiExtraModels(QueueCountsDto)
@Public()
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthService,
    private readonly readiness: ReadinessService,
    private readonly loopLag: LoopLag,
  ) {}

  /** 200 when PostgreSQL and Redis answer, 503 otherwise (load balancers read the status). */
  @Get()
  @ApiOperation({ summary: 'Liveness of PostgreSQL, Redis and the persistence queue' })
  @ApiResponse({ status: 200, type: HealthDto, description: 'PostgreSQL and Redis answer' })
  @ApiResponse({ status: 503, type: HealthDto, description: 'PostgreSQL or Redis does not answer' })
  async check(@Res({ passthrough: true }) res: Response) {
    const report = await this.health.check();
    res.status(report.status === 'ok' ? 200 : 503);
    return report;
  }

  /**
   * Liveness: the process answers, so its event loop turns. No dependency is checked: a
   * database outage must not get healthy instances restarted.
   */
  @Get('live')
  @ApiOperation({ summary: 'Liveness: the process and its event loop (no dependency is checked)' })
  @ApiResponse({ status: 200, type: LivenessDto, description: 'The process answers' })
  live() {
    return { status: 'ok', eventLoop: this.loopLag.current() };
  }

  /** Readiness: 200 only when this instance can do its work (see ReadinessService); 503 with the failing checks. */
  @Get('ready')
  @ApiOperation({ summary: 'Readiness: PostgreSQL, Redis, the persistence worker and the migrations' })
  @ApiResponse({ status: 200, type: ReadinessDto, description: 'Every check is up' })
  @ApiResponse({ status: 503, type: ReadinessDto, description: 'A check is down' })
  async ready(@Res({ passthrough: true }) res: Response) {
    const report = await this.readiness.check();
    res.status(report.status === 'ok' ? 200 : 503);
    return report;
  }
}
