import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppConfig } from './config/app-config';
import { WorkerStatus } from './health/worker-status';
import type { MetricsService } from './metrics/metrics.service';
import { HEARTBEAT_MS, PersistThread } from './persist-thread';

/**
 * The watchdog with a stand-in thread: a real worker thread that beats every HEARTBEAT_MS on
 * its own event loop (as persist-thread.main.ts does) and stalls on the test hook. The main
 * loop is blocked by a busy loop in the test itself.
 */
const STANDIN = `
  const { parentPort } = require('node:worker_threads');
  const beat = () => parentPort.postMessage({ type: 'heartbeat', running: true, heap: {} });
  beat();
  const timer = setInterval(beat, ${HEARTBEAT_MS});
  parentPort.on('message', (m) => {
    if (m === 'stop') { clearInterval(timer); process.exit(0); }
    else if (m.type === 'test-hook') for (;;);
  });
`;
const TIMEOUT_MS = 2000;

jest.setTimeout(30_000);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const busy = (ms: number) => {
  for (const end = Date.now() + ms; Date.now() < end;);
};

describe('PersistThread watchdog', () => {
  let dir: string;
  let thread: PersistThread | undefined;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'persist-thread-'));
    writeFileSync(join(dir, 'standin.js'), STANDIN);
  });
  afterEach(async () => {
    await thread?.stop();
    thread = undefined;
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const start = async () => {
    const status = new WorkerStatus();
    const restarts = jest.fn();
    const metrics = {
      threadHeap: () => {},
      applyThreadMetric: () => {},
      workerRestarts: { inc: restarts },
    } as unknown as MetricsService;
    const config = AppConfig.restore({} as AppConfig, { workerHeartbeatTimeoutMs: TIMEOUT_MS });
    thread = new PersistThread(status, metrics, config, join(dir, 'standin.js'));
    thread.start();
    while (!Number.isFinite(status.sinceBeat())) await sleep(20);
    return { status, restarts };
  };

  it('does not restart a beating thread when the main loop itself was blocked past the timeout', async () => {
    const { status, restarts } = await start();
    await sleep(HEARTBEAT_MS + 100); // the watchdog has run on time at least once
    // The thread's beats wait in the main loop's queue meanwhile, and timers run before them.
    busy(TIMEOUT_MS + 1500);
    await sleep(TIMEOUT_MS + HEARTBEAT_MS); // more checks, now on time, with the beats read
    expect(restarts).not.toHaveBeenCalled();
    expect(status.restarts).toBe(0);
    expect(status.sinceBeat()).toBeLessThan(TIMEOUT_MS);
  });

  it('still restarts a thread that stays silent while the main loop runs, blocked before or not', async () => {
    const { status, restarts } = await start();
    thread!.testHook('stall');
    busy(TIMEOUT_MS + 1500); // excused: the count starts afresh, and the thread stays silent after
    const deadline = Date.now() + 10_000;
    while (!restarts.mock.calls.length && Date.now() < deadline) await sleep(50);
    expect(restarts).toHaveBeenCalledTimes(1);
    expect(status.restarts).toBe(1);
  });
});
