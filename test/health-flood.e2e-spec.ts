import * as http from 'node:http';
import { ChatHistoryService } from '../src/chat-history/chat-history.service';
import { PrismaService } from '../src/prisma/prisma.service';
import { RedisService } from '../src/redis/redis.service';
import { eventually, sql, startApp, TestApp } from './utils/app';

/**
 * The health endpoints are public: a flood of them from one client must not become a
 * flood of PostgreSQL and Redis round trips (they held the pool's few connections and
 * every user's request waited). Each check runs at most about once a second per process,
 * one run at a time; readiness still turns 503 on the first run after a failure.
 */
describe('health endpoints under a flood (e2e)', () => {
  let t: TestApp;
  let agent: http.Agent;
  beforeAll(async () => {
    t = await startApp();
    // 100 kept-alive connections, as the hostile-client probe used.
    agent = new http.Agent({ keepAlive: true, maxSockets: 100 });
    await eventually(async () => (await get('/health/ready')).status === 200, 10_000, 'ready');
  });
  afterAll(async () => {
    agent?.destroy();
    await t?.close();
  });
  afterEach(() => jest.restoreAllMocks());

  const get = (path: string) =>
    new Promise<{ status: number; body: any }>((resolve, reject) => {
      http
        .get(`${t.url}${path}`, { agent }, (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (d: string) => (text += d));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
        })
        .on('error', reject);
    });

  /** Counts the health probes' statements and round trips from now on (the real ones still run). */
  function countProbes() {
    const prisma = t.app.get(PrismaService);
    const redis = t.app.get(RedisService).client;
    const history = t.app.get(ChatHistoryService);
    const raw = jest.spyOn(prisma, '$queryRaw');
    const ping = jest.spyOn(redis, 'ping');
    const deadLetters = jest.spyOn(history, 'deadLetterCount');
    const queueCounts = jest.spyOn(history, 'queueCounts');
    const text = (call: unknown[]) => (call[0] as TemplateStringsArray).join('?');
    return {
      selectOne: () => raw.mock.calls.filter((c) => text(c).includes('SELECT 1')).length,
      migrations: () => raw.mock.calls.filter((c) => text(c).includes('_prisma_migrations')).length,
      ping: () => ping.mock.calls.length,
      deadLetters: () => deadLetters.mock.calls.length,
      queueCounts: () => queueCounts.mock.calls.length,
    };
  }

  it('200 concurrent GET /health and 200 GET /health/ready cost a handful of probes, not hundreds', async () => {
    const probes = countProbes();
    const started = Date.now();
    const answers = await Promise.all(Array.from({ length: 200 }, () => [get('/health'), get('/health/ready')]).flat());
    const seconds = Math.ceil((Date.now() - started) / 1000);

    // Same answers as ever: every one up.
    for (const a of answers) expect(a.status).toBe(200);
    expect(answers.filter((a) => a.body.db === 'up' && typeof a.body.deadLetters === 'number')).toHaveLength(200);
    expect(answers.filter((a) => a.body.checks?.migrations?.status === 'up')).toHaveLength(200);

    // At most one run per check per started second (plus the one in flight at the start);
    // without sharing this was 400 SELECT 1, 200 migrations queries, 400 PINGs, ...
    const most = seconds + 1;
    const counts = {
      selectOne: probes.selectOne(),
      migrations: probes.migrations(),
      ping: probes.ping(),
      deadLetters: probes.deadLetters(),
      queueCounts: probes.queueCounts(),
    };
    for (const [check, n] of Object.entries(counts)) {
      expect({ check, n, atMost: most, ok: n <= most }).toEqual({ check, n, atMost: most, ok: true });
    }
  });

  it('a sustained flood probes PostgreSQL about once a second', async () => {
    const probes = countProbes();
    const started = Date.now();
    // 20 clients asking back to back for 2.5 s.
    await Promise.all(
      Array.from({ length: 20 }, async (_, i) => {
        while (Date.now() - started < 2500) {
          const res = await get(i % 2 ? '/health' : '/health/ready');
          expect(res.status).toBe(200);
        }
      }),
    );
    const seconds = Math.ceil((Date.now() - started) / 1000);
    expect(probes.selectOne()).toBeGreaterThanOrEqual(2); // it is asked again: answers stay fresh
    expect(probes.selectOne()).toBeLessThanOrEqual(seconds + 1);
    expect(probes.migrations()).toBeLessThanOrEqual(seconds + 1);
  });

  // How soon is asserted by counting probe runs, not by a clock (a loaded CI machine
  // stretches any time limit): the first run that starts after a change must report it.
  // shared-check.spec.ts pins the freshness windows themselves with a fake clock.
  it('readiness turns 503 on the first probe after a migration goes missing, and 200 on the first after it is back', async () => {
    const keepAsking = () => get('/health/ready'); // the flood keeps a cached answer warm
    expect((await keepAsking()).status).toBe(200);
    const probes = countProbes();
    const [latest] = await sql<{ migration_name: string }>(
      'SELECT migration_name FROM _prisma_migrations ORDER BY migration_name DESC LIMIT 1',
    );
    await sql('UPDATE _prisma_migrations SET rolled_back_at = now() WHERE migration_name = $1', [
      latest.migration_name,
    ]);
    try {
      const before = probes.migrations();
      const down = (await eventually(async () => {
        const res = await keepAsking();
        return res.status === 503 ? res : null;
      }, 10_000))!;
      expect(probes.migrations()).toBeLessThanOrEqual(before + 1);
      expect(down.body.checks.migrations).toMatchObject({ status: 'down', pending: [latest.migration_name] });
    } finally {
      await sql('UPDATE _prisma_migrations SET rolled_back_at = NULL WHERE migration_name = $1', [
        latest.migration_name,
      ]);
    }
    const before = probes.migrations();
    await eventually(async () => (await keepAsking()).status === 200, 10_000, 'ready again');
    expect(probes.migrations()).toBeLessThanOrEqual(before + 1);
  });

  it('readiness and /health turn 503 on the first probe after Redis fails', async () => {
    expect((await get('/health/ready')).status).toBe(200); // a success is cached now
    const redis = t.app.get(RedisService).client;
    const ping = jest.spyOn(redis, 'ping').mockRejectedValue(new Error('connection lost'));
    const ready = (await eventually(async () => {
      const res = await get('/health/ready');
      return res.status === 503 ? res : null;
    }, 10_000))!;
    expect(ping).toHaveBeenCalledTimes(1);
    expect(ready.body).toMatchObject({ status: 'unavailable', checks: { redis: { status: 'down' } } });
    const health = await get('/health');
    expect(health.status).toBe(503);
    expect(health.body).toMatchObject({ status: 'unavailable', redis: 'down' });
    jest.restoreAllMocks();
    await eventually(async () => (await get('/health')).status === 200, 10_000, 'healthy again');
  });
});
