import { ApiProperty, ApiSchema } from '@nestjs/swagger';

@ApiSchema({ name: 'QueueCounts', description: 'Jobs of the persistence queue' })
export class QueueCountsDto {
  @ApiProperty({ type: 'integer', minimum: 0, example: 0 })
  waiting: number;

  @ApiProperty({ type: 'integer', minimum: 0, example: 0 })
  active: number;

  @ApiProperty({ type: 'integer', minimum: 0, example: 0 })
  delayed: number;

  @ApiProperty({ type: 'integer', minimum: 0, example: 0 })
  failed: number;
}

@ApiSchema({ name: 'Health', description: '200 when PostgreSQL and Redis answer, else 503 with the same body' })
export class HealthDto {
  @ApiProperty({ enum: ['ok', 'unavailable'], example: 'ok' })
  status: 'ok' | 'unavailable';

  @ApiProperty({ enum: ['up', 'down'], example: 'up' })
  db: 'up' | 'down';

  @ApiProperty({ enum: ['up', 'down'], example: 'up' })
  redis: 'up' | 'down';

  @ApiProperty({
    oneOf: [{ $ref: '#/components/schemas/QueueCounts' }, { type: 'string', enum: ['down'] }],
    description: 'Job counts, or "down" when the queue does not answer',
  })
  queue: QueueCountsDto | 'down';
}
