import { Logger } from '@nestjs/common';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { AppConfig } from './config/app-config';
import type { WorkerStatus } from './health/worker-status';
import type { MetricsService } from './metrics/metrics.service';

export const STOP = 'stop';
export const HEARTBEAT_MS = 1000;
/** How long the thread may take to start (Nest, Prisma, Redis) before its first heartbeat is due. */
const STARTUP_GRACE_MS = 30_000;
/**
 * The watchdog runs on the main event loop: a check that comes more than this much later than
 * HEARTBEAT_MS after the previous one means the main loop itself was busy (see checkHeartbeat).
 */
export const MAIN_LOOP_LATE_MS = HEARTBEAT_MS;
/** The longest a graceful stop waits for the thread's batch in hand before terminating it. */
export const PERSIST_STOP_TIMEOUT_MS = 15_000;
/**
 * The thread's young generation, in MiB. V8 grows it to its default maximum while the
 * thread boots (loading the app allocates a lot) and never gives it back, though the
 * thread allocates little afterwards: one batch every PERSIST_BATCH_MS. Capped, the
 * thread's heap is smaller by about as much, with no measurable change in its CPU or in how
 * fast the queue drains (README, Performance).
 */
export const PERSIST_THREAD_YOUNG_GEN_MB = 8;

/** A count the thread posts instead of observing it (PersistMetrics there, MetricsService here). */
export type ThreadMetric =
  | { type: 'metric'; name: 'batch'; size: number; seconds: number; inserted: number }
  | { type: 'metric'; name: 'deadLetters'; n: number };
/** `heap`: the thread's V8 heap, physical bytes per space (it counts in the process's RSS). */
export type ThreadMessage = ThreadMetric | { type: 'heartbeat'; running: boolean; heap: Record<string, number> };
export type TestHook = { type: 'test-hook'; action: 'stall' | 'exit' };
/**
 * What the thread starts with. `config`: the main thread's, validated there, so that the
 * thread needs no validation code of its own (persist-thread.main.ts).
 */
export interface PersistThreadData {
  config: AppConfig;
}
/** The thread's entry: persist-thread.main.ts, built beside this file. */
const THREAD_ENTRY = join(__dirname, 'persist-thread.main.js');

/**
 * The persistence worker in a worker thread of the server process (WORKER_MODE=thread).
 * On its own event loop it keeps storing while socket traffic saturates the main one; run
 * inline, each job's round trips queue behind that traffic and storing all but stops under
 * load (seen in the bench). The thread runs the persistence worker alone
 * (persist-thread.main.ts); signals reach only the main thread, so it is told to stop.
 *
 * The thread sends a heartbeat every second from its own event loop, and its metric
 * observations. A thread that exits, or sends no heartbeat for WORKER_HEARTBEAT_TIMEOUT_MS
 * (a stalled loop), turns readiness red and is restarted, with an error line either way.
 * Only silence while the main loop runs counts (see checkHeartbeat).
 */
export class PersistThread {
  private readonly logger = new Logger('PersistThread');
  private worker: Worker | undefined;
  private stopping = false;
  private startedAt = 0;
  /** When the watchdog last ran, and when it last found the main loop back from being busy. */
  private lastCheck = Date.now();
  private resumedAt = 0;
  private readonly watchdog: NodeJS.Timeout;

  constructor(
    private readonly status: WorkerStatus,
    private readonly metrics: MetricsService,
    private readonly config: AppConfig,
    /** The thread's script (tests run a stand-in). */
    private readonly entry: string = THREAD_ENTRY,
  ) {
    this.watchdog = setInterval(() => this.checkHeartbeat(), HEARTBEAT_MS).unref();
  }

  start(): void {
    const worker = new Worker(this.entry, {
      workerData: { config: this.config } satisfies PersistThreadData,
      resourceLimits: { maxYoungGenerationSizeMb: PERSIST_THREAD_YOUNG_GEN_MB },
    });
    worker.on('message', (m: ThreadMessage) => {
      if (m.type === 'heartbeat') {
        this.status.beat(m.running);
        this.metrics.threadHeap(m.heap);
      } else if (m.type === 'metric') this.metrics.applyThreadMetric(m);
    });
    worker.on('error', (err) => this.logger.error(`persistence thread failed: ${err.message}`));
    worker.on('exit', (code) => {
      if (this.worker !== worker) return; // a stalled thread the watchdog replaced already
      this.status.threadExited();
      if (this.stopping) return;
      this.logger.error(`persistence thread exited (code ${code}); restarting in 1 s`);
      setTimeout(() => this.restart(), 1000).unref();
    });
    this.worker = worker;
    this.startedAt = Date.now();
    this.status.threadStarted();
  }

  /** Test hook (NODE_ENV=test only, see main.ts): make the thread stall or exit. */
  testHook(action: TestHook['action']): void {
    this.worker?.postMessage({ type: 'test-hook', action } satisfies TestHook);
  }

  private restart(): void {
    if (this.stopping) return;
    this.status.restarts++;
    this.metrics.workerRestarts.inc();
    this.start();
  }

  /**
   * Heartbeats reach this thread as messages on its own event loop, like this check. While
   * the main loop is blocked (a saturating flood, a long synchronous task) they wait in its
   * queue, and when it turns again timers run before messages: this check would see a
   * healthy thread silent for as long as the main loop was stuck, and restart it (it did,
   * after a 12 s typing flood). So a check that itself came late by more than
   * MAIN_LOOP_LATE_MS starts the count afresh: silence counts only while the main loop runs,
   * and a thread that stays silent then is restarted as before.
   */
  private checkHeartbeat(): void {
    const now = Date.now();
    if (now - this.lastCheck > HEARTBEAT_MS + MAIN_LOOP_LATE_MS) this.resumedAt = now;
    this.lastCheck = now;
    const worker = this.worker;
    if (!worker || this.stopping) return;
    const since = this.status.sinceBeat();
    const silentFor = Number.isFinite(since) ? since : now - this.startedAt;
    const allowed = Number.isFinite(since)
      ? this.config.workerHeartbeatTimeoutMs
      : Math.max(STARTUP_GRACE_MS, this.config.workerHeartbeatTimeoutMs);
    if (Math.min(silentFor, now - this.resumedAt) <= allowed) return;
    this.logger.error(`persistence thread stalled (no heartbeat for ${Math.round(silentFor / 1000)} s); restarting`);
    this.worker = undefined; // its exit is ours: no second restart from the exit handler
    void worker.terminate().finally(() => this.restart());
  }

  /** Lets the thread finish the batch in hand and close its connections. */
  async stop(): Promise<void> {
    this.stopping = true;
    clearInterval(this.watchdog);
    const worker = this.worker;
    if (!worker) return;
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    worker.postMessage(STOP);
    const timer = setTimeout(() => void worker.terminate(), PERSIST_STOP_TIMEOUT_MS);
    await exited;
    clearTimeout(timer);
  }
}
