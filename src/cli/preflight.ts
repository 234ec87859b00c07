import Redis from 'ioredis';
import { Client } from 'pg';
import type { AppConfig } from '../config/app-config';

const HINT =
  'Start them with `docker compose up -d postgres redis` (see README), or point DATABASE_URL / REDIS_URL at running servers.';

/** host:port of a URL, without credentials (safe to print). */
export function where(url: string): string {
  const u = new URL(url);
  return `${u.hostname}:${u.port || (u.protocol.startsWith('redis') ? 6379 : 5432)}`;
}

/**
 * Connects to PostgreSQL (the configured database, or with `allowMissingDb` the server) and
 * pings Redis, each with a short deadline. Throws one operator-readable line naming what is
 * unreachable and where.
 */
export async function checkDependencies(
  config: AppConfig,
  opts: { allowMissingDb?: boolean } = {},
): Promise<{ dbExists: boolean }> {
  const [pg, redis] = await Promise.allSettled([checkPostgres(config.databaseUrl), checkRedis(config.redisUrl)]);
  const problems: string[] = [];
  let dbExists = true;
  if (pg.status === 'rejected') {
    const err = pg.reason as { code?: string; message?: string };
    if (err.code === '3D000' && opts.allowMissingDb) dbExists = false;
    else if (err.code === '3D000')
      problems.push(
        `the database in DATABASE_URL does not exist at ${where(config.databaseUrl)}: run \`npm run db:prepare\` (npm start does it)`,
      );
    else
      problems.push(
        `PostgreSQL is not reachable at ${where(config.databaseUrl)} (DATABASE_URL): ${err.message ?? err.code}`,
      );
  }
  if (redis.status === 'rejected') {
    problems.push(
      `Redis is not reachable at ${where(config.redisUrl)} (REDIS_URL): ${(redis.reason as Error).message}`,
    );
  }
  if (problems.length) throw new Error(`${problems.join('; ')}. ${HINT}`);
  return { dbExists };
}

async function checkPostgres(url: string): Promise<void> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('SELECT 1');
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function checkRedis(url: string): Promise<void> {
  const redis = new Redis(url, {
    lazyConnect: true,
    connectTimeout: 3000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    await redis.ping();
  } finally {
    redis.disconnect();
  }
}
