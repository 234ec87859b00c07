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
  const cluster = config.redisClusterNodes;
  const redisAt = cluster.length
    ? `${cluster.map((n) => `${n.host}:${n.port}`).join(', ')} (REDIS_CLUSTER_NODES)`
    : `${where(config.redisUrl)} (REDIS_URL)`;
  const [pg, redis] = await Promise.allSettled([
    checkPostgres(config.databaseUrl),
    cluster.length ? checkCluster(cluster, config.redisClusterPassword) : checkRedis(config.redisUrl),
  ]);
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
    problems.push(`Redis is not reachable at ${redisAt}: ${(redis.reason as Error).message}`);
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

/** One seed node that answers and says the cluster is whole is enough to start. */
async function checkCluster(nodes: { host: string; port: number }[], password?: string): Promise<void> {
  const states = await Promise.allSettled(
    nodes.map(async ({ host, port }) => {
      const info = await ping(new Redis({ host, port, password, ...ONCE }), (r) => r.cluster('INFO'));
      if (!/cluster_state:ok/.test(String(info))) throw new Error(`${host}:${port} says the cluster is not ok`);
    }),
  );
  if (states.some((s) => s.status === 'fulfilled')) return;
  throw (states[0] as PromiseRejectedResult).reason;
}

const ONCE = { lazyConnect: true, connectTimeout: 3000, maxRetriesPerRequest: 0, retryStrategy: () => null };

async function ping<T>(redis: Redis, command: (r: Redis) => Promise<T>): Promise<T> {
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    return await command(redis);
  } finally {
    redis.disconnect();
  }
}

async function checkRedis(url: string): Promise<void> {
  await ping(new Redis(url, ONCE), (r) => r.ping());
}
