import { Controller, Get, Res } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { Public } from '../auth/decorators';
import { HealthService } from './health.service';
import { LoopLag } from './loop-lag';
import { ReadinessService } from './readiness.service';

@ApiTags('health')
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
  live() {
    return { status: 'ok', eventLoop: this.loopLag.current() };
  }

  /** Readiness: 200 only when this instance can do its work (see ReadinessService); 503 with the failing checks. */
  @Get('ready')
  async ready(@Res({ passthrough: true }) res: Response) {
    const report = await this.readiness.check();
    res.status(report.status === 'ok' ? 200 : 503);
    return report;
  }
}
