import { getQueueToken } from '@nestjs/bullmq';
import { Injectable, OnModuleInit } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import type { Queue } from 'bullmq';
import { Queues } from '../common/constants';
import { AppConfig } from '../config/app-config';
import { MetricsService, QueueSnapshot } from '../metrics/metrics.service';
import { PrismaService } from '../prisma/prisma.service';
import { RedisService } from '../redis/redis.service';
import { HealthService, sharedCheck, withDeadline } from './health.service';
import { shippedMigrations } from './migrations';
import { WorkerStatus } from './worker-status';

export interface Check {
  status: 'up' | 'down';
  [detail: string]: unknown;
}

export interface ReadinessReport {
  status: 'ok' | 'unavailable';
  checks: { db: Check; redis: Check; worker: Check; migrations: Check };
}

/**
 * `/health/ready`: may this instance take traffic? PostgreSQL and Redis answer, a
 * persistence worker is alive (this process's thread by its heartbeat, otherwise any
 * worker BullMQ knows of), and the database carries every migration this build ships.
 * Also feeds the queue gauges of /metrics (it holds the queue handle).
 */
@Injectable()
export class ReadinessService implements OnModuleInit {
  private readonly shipped = shippedMigrations();
  /**
   * The checks that cost a round trip are shared for up to HEALTH_CHECK_FRESH_MS (~1 s; see
   * there), so readiness turns 503 within about a second of a dependency failing. PostgreSQL
   * and Redis are HealthService's probes; the worker thread's heartbeat is read live.
   */
  private readonly migrationsCheck = sharedCheck(
    () => this.migrations().catch((e: Error): Check => ({ status: 'down', error: e.message })),
    (c) => c.status === 'down',
  );
  /** No consumer, or CLIENT LIST failing (a rejection), is a failure: kept the shorter time. */
  private readonly workerCountCheck = sharedCheck(
    () => withDeadline(this.workerCount()),
    (n) => n === 0,
  );

  constructor(
    private readonly health: HealthService,
    private readonly prisma: PrismaService,
    private readonly redis: RedisService,
    private readonly status: WorkerStatus,
    private readonly config: AppConfig,
    private readonly metrics: MetricsService,
    private readonly moduleRef: ModuleRef,
  ) {}

  /**
   * The persistence queue of ChatHistoryModule, not one of our own: a second registration
   * would be a second Queue (and connection) under the same token.
   */
  private get queue(): Queue {
    return this.moduleRef.get<Queue>(getQueueToken(Queues.MessagePersist), { strict: false });
  }

  onModuleInit(): void {
    this.metrics.setQueueSource(() => withDeadline(this.queueSnapshot()));
  }

  async check(): Promise<ReadinessReport> {
    const [db, redis, worker, migrations] = await Promise.all([
      this.health.dbCheck.get().then((s) => ({ status: s })),
      this.health.redisCheck.get().then((s) => ({ status: s })),
      this.worker().catch((e: Error) => ({ status: 'down' as const, error: e.message })),
      this.migrationsCheck.get(),
    ]);
    const checks = { db, redis, worker, migrations };
    const ok = Object.values(checks).every((c) => c.status === 'up');
    return { status: ok ? 'ok' : 'unavailable', checks };
  }

  private async worker(): Promise<Check> {
    if (this.status.threaded) {
      const s = this.status.snapshot();
      const fresh = s.alive && (s.lastHeartbeatMs ?? Infinity) <= this.config.workerHeartbeatTimeoutMs;
      return { status: fresh && s.running ? 'up' : 'down', mode: 'thread', ...s };
    }
    // Inline, the worker-only process itself, or WORKER_ENABLED=false: any consumer of the queue will do.
    const workers = await this.workerCountCheck.get();
    const mode = this.config.workerEnabled ? 'inline' : 'external';
    return { status: workers > 0 ? 'up' : 'down', mode, workers };
  }

  private async migrations(): Promise<Check> {
    const rows = await withDeadline(
      this.prisma.$queryRaw<{ migration_name: string }[]>`
        SELECT migration_name FROM _prisma_migrations WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL`,
    );
    const applied = new Set(rows.map((r) => r.migration_name));
    const pending = this.shipped.filter((m) => !applied.has(m));
    return { status: pending.length ? 'down' : 'up', applied: applied.size, pending };
  }

  /**
   * Queue consumers connected to our Redis database. BullMQ's own `getWorkers()` reads
   * CLIENT LIST for the whole server, so a worker of another deployment sharing the server
   * under another database number (dev, tests, bench) would count; the `db=` field keeps
   * ours apart. BullMQ names its worker connections `<prefix>:<base64 queue name>[:w:<name>]`.
   * On a cluster a worker blocks on the master that holds the queue's slot; every master's
   * list is read, so the count does not depend on knowing which.
   */
  private async workerCount(): Promise<number> {
    const name = `${this.queue.opts.prefix ?? 'bull'}:${Buffer.from(this.queue.name).toString('base64')}`;
    const db = String(this.redis.db);
    const lists = await Promise.all(this.redis.masters().map((node) => node.client('LIST') as Promise<string>));
    return lists
      .flatMap((list) => list.split(/\r?\n/))
      .filter((line) => {
        const f = Object.fromEntries(line.split(' ').map((kv) => kv.split('=', 2))) as Record<
          string,
          string | undefined
        >;
        return f.db === db && (f.name === name || f.name?.startsWith(`${name}:w:`));
      }).length;
  }

  /** Jobs not yet done, and how long ago the oldest of them was queued. */
  private async queueSnapshot(): Promise<QueueSnapshot> {
    const [counts, oldest] = await Promise.all([
      this.queue.getJobCounts('waiting', 'active', 'delayed'),
      this.queue.getJobs(['active', 'waiting', 'delayed'], 0, 0, true),
    ]);
    const depth = (counts.waiting ?? 0) + (counts.active ?? 0) + (counts.delayed ?? 0);
    const first = Math.min(...oldest.map((j) => j.timestamp));
    return { depth, oldestAgeSeconds: depth && Number.isFinite(first) ? (Date.now() - first) / 1000 : 0 };
  }
}
