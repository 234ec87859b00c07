/**
 * Polls `SELECT count(*) FROM messages` in the bench database in the background, keeping
 * every sample, so the harness can ask afterwards how many rows existed at any moment
 * (persisted/s over a step) and when the count first reached the number of acked messages
 * (drain time). Polling is slow during send windows, where each count(*) takes CPU from
 * the server under test, and fast (50 ms) otherwise, where the drain is timed.
 */
import { Client } from 'pg';
import { nowMs } from './stats';

export interface CountSample {
  t: number;
  count: number;
}

export const SLOW_POLL_MS = 250;
export const FAST_POLL_MS = 50;

export class DbCounter {
  private readonly samples: CountSample[] = [];
  private intervalMs = FAST_POLL_MS;
  private running = true;
  private loop: Promise<void> = Promise.resolve();
  private failure: Error | null = null;

  /**
   * The PostgreSQL backend serving these counts: its CPU is the harness's, not the server's,
   * so the CPU figures leave it out (ResourceSampler).
   */
  private constructor(
    private readonly db: Client,
    readonly backendPid: number,
  ) {}

  static async start(url: string): Promise<DbCounter> {
    const db = new Client({ connectionString: url });
    await db.connect();
    // The count in this backend alone: past 8 MB of table PostgreSQL scans with parallel
    // workers, other processes whose CPU would be charged to the server under test.
    await db.query('SET max_parallel_workers_per_gather = 0');
    const { rows } = await db.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    const counter = new DbCounter(db, rows[0].pid);
    counter.loop = counter.poll();
    return counter;
  }

  setInterval(ms: number): void {
    this.intervalMs = ms;
  }

  private async poll(): Promise<void> {
    while (this.running) {
      try {
        const before = nowMs();
        const res = await this.db.query<{ n: string }>('SELECT count(*) AS n FROM messages');
        // The count is of some instant during the query: take the middle.
        this.samples.push({ t: (before + nowMs()) / 2, count: Number(res.rows[0].n) });
      } catch (err) {
        this.failure = err as Error;
        return;
      }
      await new Promise((r) => setTimeout(r, this.intervalMs));
    }
  }

  /** Rows at time `t`, interpolated between the samples around it. */
  countAt(t: number): number {
    this.check();
    const s = this.samples;
    if (s.length === 0) return 0;
    const i = s.findIndex((x) => x.t >= t);
    if (i === 0) return s[0].count;
    if (i === -1) return s[s.length - 1].count;
    const [a, b] = [s[i - 1], s[i]];
    return a.count + ((b.count - a.count) * (t - a.t)) / (b.t - a.t);
  }

  /** The first sample at or after `after` whose count is at least `target`; null on timeout. */
  async reached(target: number, after: number, timeoutMs: number): Promise<CountSample | null> {
    const deadline = nowMs() + timeoutMs;
    for (;;) {
      this.check();
      const hit = this.samples.find((x) => x.t >= after && x.count >= target);
      if (hit) return hit;
      if (nowMs() > deadline) return null;
      await new Promise((r) => setTimeout(r, FAST_POLL_MS / 2));
    }
  }

  latest(): number {
    return this.samples.at(-1)?.count ?? 0;
  }

  private check(): void {
    if (this.failure) throw new Error(`counting messages in the bench database failed: ${this.failure.message}`);
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
    await this.db.end();
  }
}
