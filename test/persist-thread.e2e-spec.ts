import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { testEnv } from './setup/test-env';
import { eventually, sql } from './utils/app';
import { parseMetrics, valueOf } from './utils/metrics';
import { freePort, ServerProcess, spawnServer, waitHealthy } from './utils/processes';
import { loadConfig } from '../src/config/load-config';
import { PERSIST_THREAD_YOUNG_GEN_MB, type PersistThreadData } from '../src/persist-thread';

/**
 * The in-server persistence thread (WORKER_MODE=thread, the default) watched by its
 * heartbeat: a thread that stalls or dies turns /health/ready red, is restarted with an
 * error line, and readiness comes back. The thread is stalled or killed through a test
 * hook (SIGWINCH with PERSIST_THREAD_TEST_HOOK, honoured only with NODE_ENV=test).
 */
// Two boots of the thread per test, on a shared 2-core machine: well over Jest's default.
jest.setTimeout(120_000);

describe('persistence thread memory (e2e)', () => {
  it('loads the worker and its infrastructure, not Prisma, HTTP or sockets', async () => {
    // The built entry in a real worker thread, as PersistThread starts it, plus a listener
    // that answers with the thread's CommonJS module cache once it is up (heartbeat).
    const entry = path.resolve(__dirname, '..', 'dist', 'src', 'persist-thread.main.js');
    const code = `
      const { parentPort } = require('node:worker_threads');
      parentPort.on('message', (m) => {
        if (m === 'modules?') parentPort.postMessage({ type: 'modules', ids: Object.keys(require.cache) });
      });
      require(${JSON.stringify(entry)});`;
    const data: PersistThreadData = { config: loadConfig(testEnv()) };
    const worker = new Worker(code, { eval: true, env: testEnv(), workerData: data });
    try {
      const ids = await new Promise<string[]>((resolve, reject) => {
        worker.on('error', reject);
        worker.on('message', (m: { type: string; ids?: string[] }) => {
          if (m.type === 'heartbeat') worker.postMessage('modules?');
          if (m.type === 'modules') resolve(m.ids!);
        });
      });
      const loaded = (pattern: RegExp) => ids.filter((id) => pattern.test(id));
      // It runs the worker: the processor, the batch statements, BullMQ, node-postgres.
      expect(loaded(/message-persist\.processor\.js$/)).toHaveLength(1);
      expect(loaded(/message-write\.repository\.js$/)).toHaveLength(1);
      expect(loaded(/node_modules\/bullmq\//).length).toBeGreaterThan(0);
      expect(loaded(/node_modules\/pg\//).length).toBeGreaterThan(0);
      // And nothing else: the worker's SQL runs on the pool, so neither Prisma's client (nor
      // its query compiler) nor the server's HTTP, sockets and DTOs take room in its heap.
      expect(loaded(/generated\/prisma|node_modules\/@prisma\//)).toEqual([]);
      // Nor validation code: the main thread validated the configuration it passes on.
      expect(loaded(/node_modules\/(class-validator|class-transformer|validator|libphonenumber-js)\//)).toEqual([]);
      // Nor prom-client: it posts its counts to the main thread's registry.
      expect(loaded(/node_modules\/prom-client\//)).toEqual([]);
      expect(
        loaded(/node_modules\/(express|socket\.io|engine\.io|ws|@nestjs\/(platform-|swagger|websockets))\//),
      ).toEqual([]);
      expect(loaded(/dist\/src\/(chat|auth|inbox|messages|chatrooms|users|web)\//)).toEqual([]);
    } finally {
      worker.postMessage('stop');
      await new Promise((resolve) => worker.once('exit', resolve));
    }
  });

  let s: ServerProcess | undefined;
  afterAll(() => s?.stop());

  it('reports its heap in /metrics, with the young generation capped after a boot that fills it', async () => {
    s = spawnServer({ PORT: freePort() });
    const srv = s;
    await waitHealthy(srv, 60_000);
    const spaces = (await eventually(
      async () => {
        const m = parseMetrics(await (await fetch(`${srv.url}/metrics`)).text());
        return valueOf(m, 'chat_persist_thread_heap_space_bytes', { space: 'old_space' }) > 0 ? m : null;
      },
      30_000,
      'a heartbeat with the heap',
    ))!;
    const MiB = 1024 * 1024;
    const space = (name: string) => valueOf(spaces, 'chat_persist_thread_heap_space_bytes', { space: name });
    // Booting the app in the thread grows an uncapped young generation to V8's default 32 MiB.
    expect(space('new_space')).toBeGreaterThan(0);
    expect(space('new_space')).toBeLessThanOrEqual(PERSIST_THREAD_YOUNG_GEN_MB * MiB);
    // The thread loads the application's code: its old space holds megabytes.
    expect(space('old_space')).toBeGreaterThan(10 * MiB);
  });
});

describe('persistence thread watchdog (e2e)', () => {
  let s: ServerProcess | undefined;
  afterEach(async () => {
    await s?.stop();
    s = undefined;
  });

  const ready = async (srv: ServerProcess) => {
    const res = await fetch(`${srv.url}/health/ready`);
    return { status: res.status, body: (await res.json()) as { checks: { worker: Record<string, unknown> } } };
  };

  it.each([
    ['stall', /persistence thread stalled \(no heartbeat for \d+ s\); restarting/],
    ['exit', /persistence thread exited \(code 7\); restarting in 1 s/],
  ])(
    'a thread that gets %s makes readiness 503, is restarted with a log line, and readiness returns',
    async (hook, line) => {
      // 4 s: the restart counts are exact, and a 2 s timeout is two missed beats on a busy machine.
      s = spawnServer({ PORT: freePort(), PERSIST_THREAD_TEST_HOOK: hook, WORKER_HEARTBEAT_TIMEOUT_MS: '4000' });
      const srv = s;
      await waitHealthy(srv, 60_000);
      const up = (await eventually(
        async () => ((await ready(srv)).status === 200 ? ready(srv) : null),
        45_000,
        'ready',
      ))!;
      expect(up.body.checks.worker).toMatchObject({ status: 'up', mode: 'thread', restarts: 0 });

      srv.proc.kill('SIGWINCH');
      const down = (await eventually(
        async () => {
          const r = await ready(srv);
          return r.status === 503 ? r : null;
        },
        10_000,
        'readiness red',
      ))!;
      expect(down.body.checks.worker).toMatchObject({ status: 'down', mode: 'thread' });

      await eventually(() => line.test(srv.output()), 10_000, 'the restart log line');
      const back = (await eventually(
        async () => {
          const r = await ready(srv);
          return r.status === 200 ? r : null;
        },
        60_000,
        'readiness back',
      ))!;
      expect(back.body.checks.worker).toMatchObject({ status: 'up', restarts: 1 });
      // Liveness never depended on the thread.
      expect((await fetch(`${srv.url}/health/live`)).status).toBe(200);
    },
  );

  it('outlives PostgreSQL ending its idle connections (a restart, a failover, an idle-connection killer)', async () => {
    s = spawnServer({ PORT: freePort() });
    const srv = s;
    await waitHealthy(srv, 60_000);
    await eventually(async () => ((await ready(srv)).status === 200 ? true : null), 45_000, 'ready');
    // Every connection of the server's pools, the thread's among them: idle ones were an
    // 'error' event nobody listened to, which threw and took the thread down.
    const ended = await sql<{ pid: number }>(
      `SELECT pg_terminate_backend(pid) AS ended FROM pg_stat_activity
        WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'`,
    );
    expect(ended.length).toBeGreaterThan(0);
    await new Promise((r) => setTimeout(r, 3000));
    expect(srv.output()).not.toMatch(/persistence thread (failed|exited)/);
    const r = await ready(srv);
    expect(r.status).toBe(200);
    expect(r.body.checks.worker).toMatchObject({ status: 'up', restarts: 0 });
  });
});
