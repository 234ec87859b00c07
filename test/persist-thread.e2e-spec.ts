import { eventually } from './utils/app';
import { parseMetrics, valueOf } from './utils/metrics';
import { freePort, ServerProcess, spawnServer, waitHealthy } from './utils/processes';
import { PERSIST_THREAD_YOUNG_GEN_MB } from '../src/persist-thread';

/**
 * The in-server persistence thread (WORKER_MODE=thread, the default) watched by its
 * heartbeat: a thread that stalls or dies turns /health/ready red, is restarted with an
 * error line, and readiness comes back. The thread is stalled or killed through a test
 * hook (SIGWINCH with PERSIST_THREAD_TEST_HOOK, honoured only with NODE_ENV=test).
 */
// Two boots of the thread per test, on a shared 2-core machine: well over Jest's default.
jest.setTimeout(120_000);

describe('persistence thread memory (e2e)', () => {
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
});
