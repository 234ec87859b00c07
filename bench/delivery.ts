/**
 * Scenario "delivery": step the send rate up until delivery p99 passes the limit or a
 * message goes missing, against one target whose sockets are already connected (a
 * WorkerPool). The highest step that passed is the target's sustained rate.
 */
import { FAST_POLL_MS, SLOW_POLL_MS, type DbCounter } from './db-counter';
import type { BenchOptions } from './options';
import type { WorkerStepResult } from './protocol';
import type { ResourceSampler, ResourceUse } from './resources';
import { Histogram, type Percentiles } from './stats';
import type { WorkerPool } from './worker-pool';

export interface StepReport {
  rate: number;
  sent: number;
  sentPerSec: number;
  acked: number;
  ackErrors: number;
  unacked: number;
  missing: number;
  deliveries: number;
  deliveriesPerSec: number;
  selfEchoes: number;
  duplicates: number;
  disconnects: number;
  delivery: Percentiles;
  ack: Percentiles;
  /** Rows added to `messages` per second during the send window; null for the baseline. */
  persistedPerSec: number | null;
  loadLoopDelayP99Ms: number;
  /** CPU over the send window and the target's memory at its end. */
  resources: ResourceUse;
  firstSendAt: number;
  lastSendAt: number;
  /** "ok", or the reasons the step was not sustained. */
  verdict: string;
  errorSamples: string[];
}

export interface DeliveryResult {
  steps: StepReport[];
  sustainedRate: number | null;
  warmupAcked: number;
  /** Warm-up and steps: what the messages table must hold once the queue has drained. */
  ackedTotal: number;
  lastSendAt: number;
}

const sum = (rs: WorkerStepResult[], f: (r: WorkerStepResult) => number) => rs.reduce((n, r) => n + f(r), 0);

function verdictOf(s: Omit<StepReport, 'verdict'>, opts: BenchOptions): string {
  const reasons: string[] = [];
  if (s.delivery.p99 === null || s.delivery.p99 > opts.p99LimitMs) reasons.push(`p99>${opts.p99LimitMs}ms`);
  if (s.missing > 0) reasons.push('missing');
  if (s.ackErrors + s.unacked > 0) reasons.push('ack-errors');
  if (s.disconnects > 0) reasons.push('disconnects');
  // The generator could not produce the rate: the step did not test what it claims.
  if (s.sentPerSec < 0.95 * s.rate) reasons.push('rate-short');
  return reasons.length === 0 ? 'ok' : reasons.join(',');
}

function merge(
  rate: number,
  rs: WorkerStepResult[],
  resources: ResourceUse,
  opts: BenchOptions,
  counter?: DbCounter,
): StepReport {
  const lastSendAt = Math.max(...rs.map((r) => r.lastSendAt));
  const earliest = Math.min(...rs.map((r) => r.firstSendAt || Infinity));
  const firstSendAt = Number.isFinite(earliest) ? earliest : lastSendAt;
  const windowS = Math.max(opts.stepSeconds, (lastSendAt - firstSendAt) / 1000);
  const persisted = counter ? counter.countAt(lastSendAt) - counter.countAt(firstSendAt) : null;
  const deliveries = sum(rs, (r) => r.deliveries);
  const s = {
    rate,
    sent: sum(rs, (r) => r.sent),
    sentPerSec: sum(rs, (r) => r.sent) / windowS,
    acked: sum(rs, (r) => r.acked),
    ackErrors: sum(rs, (r) => r.ackErrors),
    unacked: sum(rs, (r) => r.unacked),
    missing: sum(rs, (r) => r.missing),
    deliveries,
    deliveriesPerSec: deliveries / windowS,
    selfEchoes: sum(rs, (r) => r.selfEchoes),
    duplicates: sum(rs, (r) => r.duplicates),
    disconnects: sum(rs, (r) => r.disconnects),
    delivery: Histogram.fromData(rs.map((r) => r.delivery)).summary(),
    ack: Histogram.fromData(rs.map((r) => r.ack)).summary(),
    persistedPerSec: persisted === null ? null : persisted / windowS,
    loadLoopDelayP99Ms: Math.max(...rs.map((r) => r.loopDelayP99Ms)),
    resources,
    firstSendAt,
    lastSendAt,
    errorSamples: rs.flatMap((r) => r.errorSamples).slice(0, 5),
  };
  return { ...s, verdict: verdictOf(s, opts) };
}

const ms = (v: number | null) => (v === null ? '-' : v.toFixed(1));

export function progressLine(label: string, i: number, total: number, s: StepReport): string {
  const persisted = s.persistedPerSec === null ? '' : `  persisted ${Math.round(s.persistedPerSec)}/s`;
  return (
    `[${label}] step ${i + 1}/${total} ${s.rate} msg/s: sent ${Math.round(s.sentPerSec)}/s` +
    `  delivery p50/p99 ${ms(s.delivery.p50)}/${ms(s.delivery.p99)} ms  ack p99 ${ms(s.ack.p99)} ms` +
    `  deliveries ${Math.round(s.deliveriesPerSec)}/s${persisted}  missing ${s.missing}  → ${s.verdict}`
  );
}

/**
 * A first step straight after connecting runs on cold code (JIT, connection pools) in every
 * process at once and can miss by seconds a rate the same processes sustain a minute later.
 * Returns the warm-up's acked count: on the real server those rows count towards the drain.
 */
async function warmUp(label: string, pool: WorkerPool, opts: BenchOptions): Promise<number> {
  if (opts.warmupSeconds === 0) return 0;
  const rate = opts.steps[0];
  const results = await pool.step(-1, rate, opts.warmupSeconds * 1000, opts.graceMs);
  const acked = sum(results, (r) => r.acked);
  const missing = sum(results, (r) => r.missing);
  const errors = sum(results, (r) => r.ackErrors + r.unacked);
  console.log(
    `[${label}] warm-up ${opts.warmupSeconds} s at ${rate} msg/s: ${acked} acked, ${missing} missing, ${errors} ack errors`,
  );
  const samples = results.flatMap((r) => r.errorSamples).slice(0, 3);
  if (samples.length > 0) console.log(`[${label}] warm-up errors: ${samples.join(' | ')}`);
  return acked;
}

/** Runs the steps in order, stopping after the first one that is not sustained. */
export async function runDelivery(
  label: string,
  pool: WorkerPool,
  sampler: ResourceSampler,
  opts: BenchOptions,
  counter?: DbCounter,
): Promise<DeliveryResult> {
  const warmupAcked = await warmUp(label, pool, opts);
  const steps: StepReport[] = [];
  const durationMs = opts.stepSeconds * 1000;
  for (const [i, rate] of opts.steps.entries()) {
    counter?.setInterval(SLOW_POLL_MS);
    const mark = sampler.mark();
    let resources: ResourceUse | undefined;
    // At the end of the send window: resources are read (the grace period after it is mostly
    // idle), and the counter polls fast, so the drain after the last step is timed finely.
    const windowEnd = setTimeout(() => {
      resources = sampler.since(mark);
      counter?.setInterval(FAST_POLL_MS);
    }, durationMs);
    const results = await pool.step(i, rate, durationMs, opts.graceMs);
    clearTimeout(windowEnd);
    counter?.setInterval(FAST_POLL_MS);
    const report = merge(rate, results, resources ?? sampler.since(mark), opts, counter);
    steps.push(report);
    console.log(progressLine(label, i, opts.steps.length, report));
    if (report.verdict !== 'ok') break;
  }
  const passed = steps.filter((s) => s.verdict === 'ok');
  return {
    steps,
    sustainedRate: passed.length > 0 ? passed[passed.length - 1].rate : null,
    warmupAcked,
    ackedTotal: warmupAcked + steps.reduce((n, s) => n + s.acked, 0),
    lastSendAt: steps.at(-1)?.lastSendAt ?? 0,
  };
}
