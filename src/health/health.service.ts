import { Injectable } from '@nestjs/common';
import { ChatHistoryService } from '../chat-history/chat-history.service';
import { PrismaService } from '../prisma/prisma.service';
import { RedisService } from '../redis/redis.service';

const CHECK_TIMEOUT_MS = 1500;

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
  constructor(
    private readonly prisma: PrismaService,
    private readonly redis: RedisService,
    private readonly history: ChatHistoryService,
  ) {}

  /** Each dependency is probed with a deadline, so /health answers even while one hangs. */
  async check(): Promise<HealthReport> {
    const [db, redis, queue, deadLetters] = await Promise.all([
      probe(() => this.prisma.$queryRaw`SELECT 1`),
      probe(() => this.redis.client.ping()),
      withDeadline(this.history.queueCounts()).catch(() => 'down' as const),
      withDeadline(this.history.deadLetterCount()).catch(() => 'down' as const),
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
