/**
 * Where e2e tests run: their own PostgreSQL database (name must end in `_test`) and their
 * own Redis logical database (not 0), both overridable with TEST_DATABASE_URL /
 * TEST_REDIS_URL. Destructive setup refuses anything else.
 */
export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/chat_test';
export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/15';
export const TEST_JWT_SECRET = 'e2e-test-secret-e2e-test-secret-e2e-test';

export function assertTestTargets(): void {
  const db = new URL(TEST_DATABASE_URL).pathname.slice(1);
  if (!db.endsWith('_test')) {
    throw new Error(`Refusing to run e2e tests against database "${db}": its name must end in _test`);
  }
  const redisDb = new URL(TEST_REDIS_URL).pathname.slice(1);
  if (!redisDb || redisDb === '0') {
    throw new Error(`Refusing to run e2e tests against Redis db 0 (${TEST_REDIS_URL}): use a numbered test db`);
  }
}

/**
 * Seed nodes of the local Redis Cluster the `e2e-cluster` project started (test/setup/env.ts
 * sets it for that project's suites only); unset: the single test Redis.
 */
export const testRedisClusterNodes = (): string | undefined => process.env.TEST_REDIS_CLUSTER_NODES || undefined;

/** The environment an e2e app or spawned server runs with. */
export function testEnv(overrides: Record<string, string> = {}): Record<string, string> {
  const cluster = testRedisClusterNodes();
  return {
    NODE_ENV: 'test',
    DATABASE_URL: TEST_DATABASE_URL,
    REDIS_URL: TEST_REDIS_URL,
    ...(cluster ? { REDIS_CLUSTER_NODES: cluster } : {}),
    JWT_SECRET: TEST_JWT_SECRET,
    LOG_LEVEL: 'error',
    // Offline and leave announcements after 300 ms instead of 30 s, so tests see them.
    PRESENCE_GRACE_MS: '300',
    // Suites register and call from one address at test speed: throttling has its own suite.
    AUTH_ATTEMPTS_PER_IP: '1000000',
    LOGIN_FAILS_PER_IP: '1000000',
    REST_REQUESTS_PER_MIN: '1000000',
    ...overrides,
  };
}
