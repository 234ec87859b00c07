/**
 * The harness side of the load workers: forks them, deals them their rooms, and runs each
 * step on all of them at once. A worker that reports an error or dies fails the run.
 */
import { type ChildProcess, fork } from 'node:child_process';
import * as path from 'node:path';
import type { BenchRoom, WorkerCommand, WorkerReport, WorkerStepResult } from './protocol';
import { stopProcess, track } from './processes';

const CONNECT_TIMEOUT_MS = 120_000;
/** On top of the step's own send window and grace period. */
const STEP_SLACK_MS = 15_000;

function awaitReport<K extends WorkerReport['kind']>(
  child: ChildProcess,
  kind: K,
  timeoutMs: number,
): Promise<Extract<WorkerReport, { kind: K }>> {
  return new Promise((resolve, reject) => {
    const done = (settle: () => void) => {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
      settle();
    };
    const onMessage = (m: WorkerReport) => {
      if (m.kind === 'error') done(() => reject(new Error(`load worker ${child.pid}: ${m.message}`)));
      else if (m.kind === kind) done(() => resolve(m as Extract<WorkerReport, { kind: K }>));
    };
    const onExit = (code: number | null, signal: string | null) =>
      done(() =>
        reject(new Error(`load worker ${child.pid} exited (${code ?? signal}) while we waited for "${kind}"`)),
      );
    const timer = setTimeout(
      () => done(() => reject(new Error(`load worker ${child.pid}: no "${kind}" within ${timeoutMs} ms`))),
      timeoutMs,
    );
    child.on('message', onMessage);
    child.on('exit', onExit);
  });
}

export class WorkerPool {
  private constructor(
    private readonly children: ChildProcess[],
    private readonly roomShares: number[],
  ) {}

  /** Process ids of the load workers (for ResourceSampler). */
  get pids(): number[] {
    return this.children.flatMap((c) => (c.pid === undefined ? [] : [c.pid]));
  }

  /** Forks one worker per slice and waits until every socket is connected and joined. */
  static async start(url: string, slices: BenchRoom[][], connectConcurrency: number): Promise<WorkerPool> {
    const script = path.join(__dirname, 'load-worker.js');
    const children = slices.map(() => track(fork(script, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })));
    const total = slices.reduce((n, s) => n + s.length, 0);
    const pool = new WorkerPool(
      children,
      slices.map((s) => s.length / total),
    );
    try {
      const ready = children.map((c) => awaitReport(c, 'ready', CONNECT_TIMEOUT_MS));
      children.forEach((c, i) =>
        pool.send(c, { kind: 'init', workerId: i, url, rooms: slices[i], connectConcurrency }),
      );
      await Promise.all(ready);
    } catch (err) {
      await pool.stop();
      throw err;
    }
    return pool;
  }

  private send(child: ChildProcess, cmd: WorkerCommand): void {
    child.send(cmd);
  }

  /** Splits `rate` by each worker's share of the rooms, so every room sees the same rate. */
  async step(step: number, rate: number, durationMs: number, graceMs: number): Promise<WorkerStepResult[]> {
    const timeout = durationMs + graceMs + STEP_SLACK_MS;
    const done = this.children.map((c) => awaitReport(c, 'stepDone', timeout));
    this.children.forEach((c, i) =>
      this.send(c, { kind: 'step', step, rate: rate * this.roomShares[i], durationMs, graceMs }),
    );
    const reports = await Promise.all(done);
    return reports.map((r) => r.result);
  }

  /** Asks each worker to close its sockets and exit; SIGTERM (then SIGKILL) the ones that do not. */
  async stop(): Promise<void> {
    await Promise.all(
      this.children.map(async (c) => {
        if (c.exitCode !== null || c.signalCode !== null) return;
        const exited = new Promise((resolve) => c.once('exit', resolve));
        if (c.connected) this.send(c, { kind: 'stop' });
        await Promise.race([exited, new Promise((r) => setTimeout(r, 2000))]);
        await stopProcess(c, 3000);
      }),
    );
  }
}
