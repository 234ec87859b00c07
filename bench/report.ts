/** Tables for the terminal and the JSON file of a run. */
import { mkdirSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { StepReport } from './delivery';
import { cpuPerMessage } from './goals';
import type { BenchOptions, Target } from './options';
import type { TargetReport } from './targets';

type Column = [header: string, cell: (s: StepReport, target: Target) => string];

const ms = (v: number | null) => (v === null ? '-' : v.toFixed(1));
const int = (v: number | null) => (v === null ? '-' : String(Math.round(v)));
const pct = (v: number | null) => (v === null ? '-' : `${Math.round(v * 100)}%`);

const COLUMNS: Column[] = [
  ['rate/s', (s) => String(s.rate)],
  ['sent/s', (s) => int(s.sentPerSec)],
  ['dlv p50', (s) => ms(s.delivery.p50)],
  ['dlv p95', (s) => ms(s.delivery.p95)],
  ['dlv p99', (s) => ms(s.delivery.p99)],
  ['dlv max', (s) => ms(s.delivery.max)],
  ['ack p50', (s) => ms(s.ack.p50)],
  ['ack p95', (s) => ms(s.ack.p95)],
  ['ack p99', (s) => ms(s.ack.p99)],
  ['deliveries/s', (s) => int(s.deliveriesPerSec)],
  ['persisted/s', (s) => int(s.persistedPerSec)],
  ['missing', (s) => String(s.missing)],
  ['ack err', (s) => String(s.ackErrors + s.unacked)],
  ['gen lag p99', (s) => ms(s.loadLoopDelayP99Ms)],
  // Shares of one core during the send window (see resources.ts), and the target's memory.
  ['cpu main', (s) => pct(s.resources.cpuMain)],
  ['cpu threads', (s) => pct(s.resources.cpuOtherThreads)],
  ['cpu load', (s) => pct(s.resources.cpuLoad)],
  ['cpu pg', (s) => pct(s.resources.cpuPostgres)],
  ['cpu redis', (s) => pct(s.resources.cpuRedis)],
  ['rss MiB', (s) => int(s.resources.rssMiB)],
  // CPU ms per message sent, counted as goal 1 counts it for this target (goals.ts).
  ['cpu ms/msg', (s, t) => cpuPerMessage(t, s)?.totalMs.toFixed(3) ?? '-'],
  ['verdict', (s) => s.verdict],
];

export function table(r: TargetReport): string {
  const rows = [COLUMNS.map(([h]) => h), ...r.steps.map((s) => COLUMNS.map(([, cell]) => cell(s, r.target)))];
  const widths = COLUMNS.map((_, c) => Math.max(...rows.map((row) => row[c].length)));
  const line = (row: string[]) => row.map((v, c) => (c === row.length - 1 ? v : v.padStart(widths[c]))).join('  ');
  const out = [`== ${r.target} (${r.url}); latencies in ms ==`, ...rows.map(line)];
  for (const s of r.steps.filter((x) => x.errorSamples.length > 0)) {
    out.push(`   ${s.rate} msg/s errors: ${s.errorSamples.join(' | ')}`);
  }
  return out.join('\n');
}

function sustainedText(r: TargetReport, opts: BenchOptions): string {
  const all = r.steps.length === opts.steps.length && r.steps.every((s) => s.verdict === 'ok');
  const rate = r.sustainedRate === null ? 'none' : `${r.sustainedRate} msg/s`;
  return `${r.target}: ${rate}${all ? ' (every step passed: the limit is above the last step)' : ''}`;
}

/** Highest sustained rates, their ratio (real / baseline) and the drain time. */
export function summary(reports: TargetReport[], opts: BenchOptions): { text: string; ratio: number | null } {
  const lines = [`highest sustained rate (delivery p99 <= ${opts.p99LimitMs} ms, nothing missing):`];
  for (const r of reports) lines.push(`  ${sustainedText(r, opts)}`);
  const base = reports.find((r) => r.target === 'baseline')?.sustainedRate;
  const real = reports.find((r) => r.target === 'server');
  let ratio: number | null = null;
  if (base && real) {
    ratio = (real.sustainedRate ?? 0) / base;
    lines.push(`  real / baseline: ${ratio.toFixed(2)}`);
  }
  const withRedis = reports.find((r) => r.target === 'baseline-redis')?.sustainedRate;
  if (withRedis && real) {
    lines.push(`  real / baseline with the Redis adapter: ${((real.sustainedRate ?? 0) / withRedis).toFixed(2)}`);
  }
  const rss = (r: TargetReport | undefined) =>
    r?.steps.filter((x) => x.verdict === 'ok').at(-1)?.resources.rssMiB ?? null;
  const [baseRss, realRss] = [rss(reports.find((r) => r.target === 'baseline')), rss(real)];
  if (baseRss !== null && realRss !== null) {
    lines.push(
      `  memory at the highest sustained step: server ${Math.round(realRss)} MiB, ` +
        `baseline ${Math.round(baseRss)} MiB (${(realRss / baseRss).toFixed(1)}x)`,
    );
  }
  if (real?.drain) {
    const d = real.drain;
    const when =
      d.drainMs === null
        ? `not drained within ${opts.drainTimeoutMs} ms`
        : `drained ${d.drainMs} ms after the last send`;
    lines.push(`  server persistence queue: ${when} (${d.ackedTotal} acked, ${d.dbCount} rows in messages)`);
  }
  return { text: lines.join('\n'), ratio };
}

/** Writes `<dir>/<name>.json`, e.g. name = "<timestamp>-delivery". */
export function writeJson(dir: string, name: string, data: Record<string, unknown>): string {
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${name}.json`);
  writeFileSync(file, JSON.stringify(data, null, 2) + '\n');
  return file;
}

export function machine(): Record<string, unknown> {
  return {
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    platform: `${os.platform()} ${os.release()}`,
  };
}
