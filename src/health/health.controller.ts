import { Controller, Get, Res } from '@nestjs/common';
import { ApiExtraModels, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { ApiPublic } from '../common/openapi';
import { HealthDto, QueueCountsDto } from './dto/health.response';
import type { Response } from 'express';
import { Public } from '../auth/decorators';
import { HealthService } from './health.service';

@ApiTags('health')
@ApiPublic()
@ApiExtraModels(QueueCountsDto)
@Public()
@Controller('health')
export class HealthController {
  constructor(private readonly health: HealthService) {}

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
}
