import { eventually, sql, startApp, TestApp } from './utils/app';
import { freePort, spawnServer } from './utils/processes';

describe('GET /health (e2e)', () => {
  it('is 200 with db, redis and queue when both answer', async () => {
    const t = await startApp();
    try {
      const res = await t.http().get('/health');
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ status: 'ok', db: 'up', redis: 'up', queue: { waiting: expect.any(Number) } });
    } finally {
      await t.close();
    }
  });

  it('is 503 when Redis is unreachable, and so is readiness; liveness stays 200', async () => {
    let t: TestApp | undefined;
    try {
      t = await startApp({ REDIS_URL: 'redis://127.0.0.1:1/15' });
      const res = await t.http().get('/health');
      expect(res.status).toBe(503);
      expect(res.body).toMatchObject({ status: 'unavailable', db: 'up', redis: 'down' });
      const ready = await t.http().get('/health/ready');
      expect(ready.status).toBe(503);
      expect(ready.body).toMatchObject({
        status: 'unavailable',
        checks: { db: { status: 'up' }, redis: { status: 'down' } },
      });
      expect((await t.http().get('/health/live')).status).toBe(200);
    } finally {
      await t?.close();
    }
  });
});

describe('GET /health/live and /health/ready (e2e)', () => {
  let t: TestApp;
  beforeAll(async () => (t = await startApp()));
  afterAll(() => t?.close());

  it('live: 200 with the event-loop lag, no authentication', async () => {
    const res = await t.http().get('/health/live');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ok', eventLoop: { lagMs: expect.any(Number), maxLagMs: expect.any(Number) } });
  });

  it('ready: 200 with every check up (inline worker, all migrations applied)', async () => {
    // The worker's BullMQ connection may still be coming up just after the boot.
    const res = await eventually(
      async () => {
        const r = await t.http().get('/health/ready');
        if (r.status !== 200) throw new Error(`${r.status} ${JSON.stringify(r.body)}`); // said on timeout
        return r;
      },
      10_000,
      'ready',
    );
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      status: 'ok',
      checks: {
        db: { status: 'up' },
        redis: { status: 'up' },
        worker: { status: 'up', mode: 'inline', workers: expect.any(Number) },
        migrations: { status: 'up', pending: [] },
      },
    });
    expect(res.body.checks.migrations.applied).toBeGreaterThanOrEqual(2);
  });

  it('ready: 503 naming the migration the database lacks', async () => {
    const [latest] = await sql<{ migration_name: string }>(
      'SELECT migration_name FROM _prisma_migrations ORDER BY migration_name DESC LIMIT 1',
    );
    await sql('UPDATE _prisma_migrations SET rolled_back_at = now() WHERE migration_name = $1', [
      latest.migration_name,
    ]);
    // Checks are shared for up to ~1 s (HEALTH_CHECK_FRESH_MS): the last 200 may be served that long.
    try {
      const res = (await eventually(async () => {
        const r = await t.http().get('/health/ready');
        return r.status === 503 ? r : null;
      }, 2000))!;
      expect(res.status).toBe(503);
      expect(res.body.checks.migrations).toMatchObject({ status: 'down', pending: [latest.migration_name] });
    } finally {
      await sql('UPDATE _prisma_migrations SET rolled_back_at = NULL WHERE migration_name = $1', [
        latest.migration_name,
      ]);
    }
    await eventually(async () => (await t.http().get('/health/ready')).status === 200, 2000, 'ready again');
  });
});

describe('readiness with WORKER_ENABLED=false (e2e)', () => {
  it('is 503 until a worker process consumes the queue, then 200', async () => {
    const t = await startApp({ WORKER_ENABLED: 'false' });
    const worker = spawnServer({ PORT: freePort() }, ['--worker']);
    try {
      // No consumer on our Redis database yet (the worker process is still booting).
      const first = await t.http().get('/health/ready');
      if (first.status === 503) {
        expect(first.body.checks.worker).toMatchObject({ status: 'down', mode: 'external', workers: 0 });
      }
      const ready = (await eventually(async () => {
        const res = await t.http().get('/health/ready');
        return res.status === 200 ? res : null;
      }, 20_000))!;
      expect(ready.body.checks.worker).toMatchObject({ status: 'up', mode: 'external' });
      expect(ready.body.checks.worker.workers).toBeGreaterThanOrEqual(1);
      await worker.stop();
      const down = (await eventually(async () => {
        const res = await t.http().get('/health/ready');
        return res.status === 503 ? res : null;
      }, 10_000))!;
      expect(down.body.checks.worker).toMatchObject({ status: 'down', workers: 0 });
    } finally {
      await worker.stop();
      await t.close();
    }
  });
});
