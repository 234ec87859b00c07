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

  @ApiProperty({
    oneOf: [
      { type: 'integer', minimum: 0 },
      { type: 'string', enum: ['down'] },
    ],
    example: 0,
    description: 'Messages PostgreSQL refused as data, set aside in dead_letters (or "down")',
  })
  deadLetters: number | 'down';
}

@ApiSchema({ name: 'EventLoop', description: "This process's event-loop delay" })
export class EventLoopDto {
  @ApiProperty({ type: 'number', minimum: 0, example: 1.2, description: 'Latest sample, ms' })
  lagMs: number;

  @ApiProperty({ type: 'number', minimum: 0, example: 4.5, description: 'Largest of the recent samples, ms' })
  maxLagMs: number;
}

@ApiSchema({ name: 'Liveness', description: 'The process answers and its event loop turns' })
export class LivenessDto {
  @ApiProperty({ enum: ['ok'], example: 'ok' })
  status: 'ok';

  @ApiProperty({ type: EventLoopDto })
  eventLoop: EventLoopDto;
}

@ApiSchema({
  name: 'ReadinessCheck',
  description:
    'One dependency: `status` plus details that depend on the check (error, mode, counts, pending migrations)',
})
export class ReadinessCheckDto {
  @ApiProperty({ enum: ['up', 'down'], example: 'up' })
  status: 'up' | 'down';

  @ApiProperty({ required: false, example: 'connect ECONNREFUSED 127.0.0.1:5432' })
  error?: string;

  @ApiProperty({ required: false, enum: ['thread', 'inline', 'external'], description: 'worker check' })
  mode?: string;

  @ApiProperty({ required: false, type: 'boolean', description: 'worker thread check' })
  alive?: boolean;

  @ApiProperty({ required: false, type: 'boolean', description: 'worker thread check' })
  running?: boolean;

  @ApiProperty({
    required: false,
    type: 'integer',
    nullable: true,
    description: 'worker thread check: ms since its heartbeat',
  })
  lastHeartbeatMs?: number | null;

  @ApiProperty({ required: false, type: 'integer', minimum: 0, description: 'worker thread check: restarts so far' })
  restarts?: number;

  @ApiProperty({
    required: false,
    type: 'integer',
    minimum: 0,
    description: 'external/inline worker check: live consumers',
  })
  workers?: number;

  @ApiProperty({ required: false, type: 'integer', minimum: 0, description: 'migrations check: applied' })
  applied?: number;

  @ApiProperty({ required: false, type: [String], description: 'migrations check: shipped but not applied' })
  pending?: string[];
}

@ApiSchema({ name: 'ReadinessChecks' })
export class ReadinessChecksDto {
  @ApiProperty({ type: ReadinessCheckDto })
  db: ReadinessCheckDto;

  @ApiProperty({ type: ReadinessCheckDto })
  redis: ReadinessCheckDto;

  @ApiProperty({ type: ReadinessCheckDto })
  worker: ReadinessCheckDto;

  @ApiProperty({ type: ReadinessCheckDto })
  migrations: ReadinessCheckDto;
}

@ApiSchema({ name: 'Readiness', description: '200 when every check is up, else 503 with the same body' })
export class ReadinessDto {
  @ApiProperty({ enum: ['ok', 'unavailable'], example: 'ok' })
  status: 'ok' | 'unavailable';

  @ApiProperty({ type: ReadinessChecksDto })
  checks: ReadinessChecksDto;
}
