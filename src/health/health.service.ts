import { Injectable } from '@nestjs/common';
import { ChatHistoryService } from '../chat-history/chat-history.service';
import { PrismaService } from '../prisma/prisma.service';
import { RedisService } from '../redis/redis.service';
import { SharedResult } from './shared-check';

const CHECK_TIMEOUT_MS = 1500;

/**
 * The health endpoints are public and a flood of them must not queue users behind its
 * probes (10 pool connections): each check runs at most once per this many ms per process,
 * one run at a time, and every caller in between gets that answer. So an answer is at most
 * ~1 s old: a dependency that goes down turns /health and /health/ready 503 within ~1 s
 * (plus the probe's own deadline when it hangs rather than refuses).
 */
export const HEALTH_CHECK_FRESH_MS = 1000;
/** A failed check is kept shorter than a success, so recovery is seen as soon as an outage. */
export const HEALTH_CHECK_FAILED_FRESH_MS = 250;

/** A shared check whose 'down' answers count as failures (kept HEALTH_CHECK_FAILED_FRESH_MS). */
export function sharedCheck<T>(run: () => Promise<T>, failed: (value: T) => boolean): SharedResult<T> {
  return new SharedResult(run, { freshMs: HEALTH_CHECK_FRESH_MS, failedFreshMs: HEALTH_CHECK_FAILED_FRESH_MS, failed });
}

export interface HealthReport {
  status: 'ok' | 'unavailable';
  db: 'up' | 'down';
  redis: 'up' | 'down';
  queue: { waiting: number; active: number; delayed: number; failed: number } | 'down';
  /** Acked messages PostgreSQL refused as data, set aside in the dead_letters table ('down' if unknown). */
  deadLetters: number | 'down';
}

@Injectable()
export class HealthService {
  /** `SELECT 1`, shared with readiness (one probe of PostgreSQL per second for both endpoints). */
  readonly dbCheck = sharedCheck(
    () => probe(() => this.prisma.$queryRaw`SELECT 1`),
    (s) => s === 'down',
  );
  /** PING, shared with readiness likewise. */
  readonly redisCheck = sharedCheck(
    () => probe(() => this.redis.client.ping()),
    (s) => s === 'down',
  );
  private readonly queue = sharedCheck(
    () => withDeadline(this.history.queueCounts()).catch(() => 'down' as const),
    (q) => q === 'down',
  );
  private readonly deadLetters = sharedCheck(
    () => withDeadline(this.history.deadLetterCount()).catch(() => 'down' as const),
    (n) => n === 'down',
  );

  constructor(
    private readonly prisma: PrismaService,
    private readonly redis: RedisService,
    private readonly history: ChatHistoryService,
  ) {}

  /**
   * Each dependency is probed with a deadline, so /health answers even while one hangs;
   * each answer is shared for up to HEALTH_CHECK_FRESH_MS (see there).
   */
  async check(): Promise<HealthReport> {
    const [db, redis, queue, deadLetters] = await Promise.all([
      this.dbCheck.get(),
      this.redisCheck.get(),
      this.queue.get(),
      this.deadLetters.get(),
    ]);
    const ok = db === 'up' && redis === 'up';
    return {
      status: ok ? 'ok' : 'unavailable',
      db,
      redis,
      queue: queue === 'down' ? queue : (queue as Exclude<HealthReport['queue'], 'down'>),
      deadLetters,
    };
  }
}

export async function probe(fn: () => Promise<unknown>): Promise<'up' | 'down'> {
  try {
    await withDeadline(fn());
    return 'up';
  } catch {
    return 'down';
  }
}

export function withDeadline<T>(p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('timeout')), CHECK_TIMEOUT_MS);
  });
  return Promise.race([p, deadline]).finally(() => clearTimeout(timer));
}
