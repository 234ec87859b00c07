/**
 * Issue 11's goals, read off one delivery run (one or more rounds of every target): CPU per
 * message against the right baseline, the sustained-rate ratio, ack p99 and drain at the
 * sustained step, and memory against bare socket.io. Each goal gets PASS, MISS, or n/a when
 * the run lacks what it needs (say, the cluster path without baseline-redis). With several
 * rounds every figure is the median over the rounds, with the min–max beside it.
 */
import type { StepReport } from './delivery';
import type { BenchOptions, Target } from './options';
import type { TargetReport } from './targets';

export const GOAL_LIMITS = {
  cpuPerMessageRatio: 2.0,
  sustainedRatio: 0.7,
  ackP99Ms: 50,
  drainMs: 2000,
  rssRatio: 2.0,
  idleKiBPerSocket: 20,
  reconnectS: 30,
} as const;

export type Verdict = 'PASS' | 'MISS' | 'n/a';

/** Median and range over the rounds; null when no round had the figure. */
export interface Spread {
  median: number | null;
  min: number | null;
  max: number | null;
  values: (number | null)[];
}

export interface CpuPerMessage {
  /** ms of CPU per message sent, summed over what the target's cost is made of. */
  totalMs: number;
  mainMs: number;
  threadsMs: number;
  postgresMs: number | null;
  redisMs: number | null;
}

export interface TargetFigures {
  target: Target;
  rounds: number;
  sustainedRate: Spread;
  cpuPerMessageMs: Spread;
  rssAtSustainedMiB: Spread;
  ackP99AtSustainedMs: Spread;
  /** Goal 2's rate: the highest sustained step whose ack p99 was also under GOAL_LIMITS.ackP99Ms. */
  fastRate: Spread;
  ackP99AtFastMs: Spread;
  drainMs: Spread;
}

export interface Goal {
  id: string;
  what: string;
  value: string;
  limit: string;
  verdict: Verdict;
}

export interface GoalsReport {
  /** The offered rate CPU per message was compared at (the same for every target). */
  cpuRate: number | null;
  /** The target goals 1 and 2 compare against: baseline, or baseline-redis with --server-peers. */
  reference: Target;
  targets: TargetFigures[];
  goals: Goal[];
}

export function spread(values: (number | null | undefined)[]): Spread {
  const vs = values.map((v) => (v === undefined || v === null || !Number.isFinite(v) ? null : v));
  const known = vs.filter((v): v is number => v !== null).sort((a, b) => a - b);
  if (known.length === 0) return { median: null, min: null, max: null, values: vs };
  const mid = known.length >> 1;
  const median = known.length % 2 ? known[mid] : (known[mid - 1] + known[mid]) / 2;
  return { median, min: known[0], max: known[known.length - 1], values: vs };
}

/** What a target's CPU per message counts: bare socket.io has no Postgres, and Redis only with the adapter. */
export function cpuPerMessage(target: Target, s: StepReport): CpuPerMessage | null {
  const r = s.resources;
  if (r.cpuMain === null || r.cpuOtherThreads === null || !(s.sentPerSec > 0)) return null;
  const perMsg = (share: number) => (share / s.sentPerSec) * 1000;
  const postgresMs = target === 'server' && r.cpuPostgres !== null ? perMsg(r.cpuPostgres) : null;
  const redisMs = target !== 'baseline' && r.cpuRedis !== null ? perMsg(r.cpuRedis) : null;
  const mainMs = perMsg(r.cpuMain);
  const threadsMs = perMsg(r.cpuOtherThreads);
  return { totalMs: mainMs + threadsMs + (postgresMs ?? 0) + (redisMs ?? 0), mainMs, threadsMs, postgresMs, redisMs };
}

const stepAt = (r: TargetReport, rate: number | null) =>
  rate === null ? undefined : r.steps.find((s) => s.rate === rate);
const sustainedStep = (r: TargetReport) => stepAt(r, r.sustainedRate);
/**
 * Goal 2 asks for a rate "with ack p99 under 50 ms at that rate": the highest sustained step
 * (delivery p99 within the bench's limit, nothing missing) whose ack p99 was under it too.
 * Steps run in rising order and stop at the first one not sustained.
 */
export const fastStep = (r: TargetReport) =>
  r.steps.findLast((s) => s.verdict === 'ok' && s.ack.p99 !== null && s.ack.p99 < GOAL_LIMITS.ackP99Ms);

/** The highest rate at most `cpuRate` that every round of every target ran (sustained or not). */
export function commonCpuRate(rounds: TargetReport[][], opts: BenchOptions): number | null {
  const all = rounds.flat();
  const candidates = opts.steps.filter((rate) => rate <= opts.cpuRate).reverse();
  const rate = candidates.find((c) => all.every((r) => stepAt(r, c) !== undefined));
  return rate ?? null;
}

function figures(target: Target, runs: TargetReport[], cpuRate: number | null): TargetFigures {
  return {
    target,
    rounds: runs.length,
    // A run that sustained no step sustained 0 msg/s (and counts so in the median).
    sustainedRate: spread(runs.map((r) => r.sustainedRate ?? 0)),
    cpuPerMessageMs: spread(
      runs.map((r) => {
        const s = stepAt(r, cpuRate);
        return s ? (cpuPerMessage(target, s)?.totalMs ?? null) : null;
      }),
    ),
    rssAtSustainedMiB: spread(runs.map((r) => sustainedStep(r)?.resources.rssMiB)),
    ackP99AtSustainedMs: spread(runs.map((r) => sustainedStep(r)?.ack.p99)),
    // A run with no such step counts as 0 msg/s, as for sustainedRate.
    fastRate: spread(runs.map((r) => fastStep(r)?.rate ?? 0)),
    ackP99AtFastMs: spread(runs.map((r) => fastStep(r)?.ack.p99)),
    drainMs: spread(runs.map((r) => r.drain?.drainMs)),
  };
}

/** min–max of a per-round quantity, e.g. " [0.31–0.40]"; nothing with one round. */
function range(values: (number | null)[], digits: number, unit = ''): string {
  const known = values.filter((v): v is number => v !== null);
  if (known.length < 2) return '';
  return ` [${Math.min(...known).toFixed(digits)}–${Math.max(...known).toFixed(digits)}${unit}]`;
}

function ratioSpread(a: (number | null)[], b: (number | null)[]): (number | null)[] {
  return a.map((x, i) => {
    const y = b[i];
    return x === null || y === null || y === 0 ? null : x / y;
  });
}

function judge(ok: boolean | null): Verdict {
  return ok === null ? 'n/a' : ok ? 'PASS' : 'MISS';
}

export function evaluate(rounds: TargetReport[][], opts: BenchOptions): GoalsReport {
  const cpuRate = commonCpuRate(rounds, opts);
  const targets = opts.targets.map((t) =>
    figures(
      t,
      rounds.map((round) => round.find((r) => r.target === t)!),
      cpuRate,
    ),
  );
  const byTarget = (t: Target) => targets.find((f) => f.target === t);
  const reference: Target = opts.serverPeers > 0 ? 'baseline-redis' : 'baseline';
  const server = byTarget('server');
  const ref = byTarget(reference);
  const bare = byTarget('baseline');
  const goals: Goal[] = [];
  const refName = reference === 'baseline' ? 'bare socket.io' : 'bare + Redis adapter';
  const missing = (what: string) => ({ value: `- (${what})`, limit: '', verdict: 'n/a' as Verdict });
  const fmt = (v: number | null, digits: number, unit = '') => (v === null ? '-' : `${v.toFixed(digits)}${unit}`);

  // Goal 1: CPU per message.
  {
    const what = `CPU/msg at ${cpuRate ?? '?'} msg/s: server / ${refName}`;
    if (!server || !ref) {
      goals.push({ id: '1', what, ...missing(`needs targets server and ${reference}`) });
    } else {
      const ratio =
        server.cpuPerMessageMs.median !== null && ref.cpuPerMessageMs.median
          ? server.cpuPerMessageMs.median / ref.cpuPerMessageMs.median
          : null;
      const per = ratioSpread(server.cpuPerMessageMs.values, ref.cpuPerMessageMs.values);
      goals.push({
        id: '1',
        what,
        value: `${fmt(ratio, 2, 'x')}${range(per, 2, 'x')}`,
        limit: `<= ${GOAL_LIMITS.cpuPerMessageRatio}x`,
        verdict: judge(ratio === null ? null : ratio <= GOAL_LIMITS.cpuPerMessageRatio),
      });
    }
  }
  // Goal 2: sustained rate, ack p99 and persistence at it.
  if (!server || !ref) {
    goals.push({ id: '2', what: `sustained rate: server / ${refName}`, ...missing(`needs server and ${reference}`) });
  } else {
    const ratio =
      server.sustainedRate.median !== null && ref.sustainedRate.median
        ? server.sustainedRate.median / ref.sustainedRate.median
        : null;
    const per = ratioSpread(
      server.sustainedRate.values.map((v) => v ?? 0),
      ref.sustainedRate.values,
    );
    goals.push({
      id: '2',
      what: `sustained rate: server / ${refName}`,
      value: `${fmt(ratio, 2, 'x')}${range(per, 2, 'x')}`,
      limit: `>= ${GOAL_LIMITS.sustainedRatio}x`,
      verdict: judge(ratio === null ? null : ratio >= GOAL_LIMITS.sustainedRatio),
    });
  }
  if (server) {
    const rate = server.fastRate;
    const ratio = rate.median !== null && ref?.sustainedRate.median ? rate.median / ref.sustainedRate.median : null;
    const per = ref ? ratioSpread(rate.values, ref.sustainedRate.values) : [];
    const ack = server.ackP99AtFastMs;
    goals.push({
      id: '2',
      what: `ack p99 < ${GOAL_LIMITS.ackP99Ms} ms: the server's highest such sustained step / ${refName}'s sustained rate`,
      value:
        rate.median === 0
          ? `- (no sustained step with ack p99 < ${GOAL_LIMITS.ackP99Ms} ms)`
          : `${fmt(ratio, 2, 'x')}${range(per, 2, 'x')} (${fmt(rate.median, 0, ' msg/s')}${range(rate.values, 0)}, ` +
            `ack p99 ${fmt(ack.median, 1, ' ms')}${range(ack.values, 1, ' ms')})`,
      limit: `>= ${GOAL_LIMITS.sustainedRatio}x`,
      // No reference to compare with: n/a, as the sustained-rate row.
      verdict: judge(!ref ? null : ratio === null ? false : ratio >= GOAL_LIMITS.sustainedRatio),
    });
    const runs = rounds.map((round) => round.find((r) => r.target === 'server')!);
    const stored = runs.reduce((n, r) => n + (r.drain?.dbCount ?? 0), 0);
    const acked = runs.reduce((n, r) => n + (r.drain?.ackedTotal ?? 0), 0);
    goals.push({
      id: '2',
      what: 'every acked message persisted',
      value: `${stored} of ${acked}`,
      limit: 'all',
      verdict: judge(runs.every((r) => r.drain && r.drain.dbCount >= r.drain.ackedTotal)),
    });
    const drain = server.drainMs;
    const timedOut = drain.values.some((v) => v === null);
    goals.push({
      id: '2',
      what: 'persistence queue drained after the last send',
      value: timedOut
        ? `not drained within ${opts.drainTimeoutMs} ms`
        : `${fmt(drain.median, 0, ' ms')}${range(drain.values, 0, ' ms')}`,
      limit: `<= ${GOAL_LIMITS.drainMs} ms`,
      verdict: judge(!timedOut && drain.median !== null && drain.median <= GOAL_LIMITS.drainMs),
    });
  }
  // Goal 3: memory at the sustained step, against bare socket.io at the same rate.
  if (!server || !bare) {
    goals.push({ id: '3', what: 'RSS at the sustained step: server / bare', ...missing('needs server and baseline') });
  } else {
    const perRound = rounds.map((round) => {
      const s = round.find((r) => r.target === 'server')!;
      const b = round.find((r) => r.target === 'baseline')!;
      const mine = sustainedStep(s)?.resources.rssMiB ?? null;
      // Bare socket.io at the same offered rate; its own sustained step if it never ran that one.
      const theirs = (stepAt(b, s.sustainedRate) ?? sustainedStep(b))?.resources.rssMiB ?? null;
      return mine !== null && theirs ? mine / theirs : null;
    });
    const r = spread(perRound);
    goals.push({
      id: '3',
      what: 'RSS at the server’s sustained step: server / bare (same rate)',
      value: `${fmt(r.median, 2, 'x')}${range(r.values, 2, 'x')}`,
      limit: `<= ${GOAL_LIMITS.rssRatio}x`,
      verdict: judge(r.median === null ? null : r.median <= GOAL_LIMITS.rssRatio),
    });
  }
  goals.push({
    id: '3',
    what: 'memory per idle connection',
    value: '- (--scenario=idle)',
    limit: `<= ${GOAL_LIMITS.idleKiBPerSocket} KiB`,
    verdict: 'n/a',
  });
  return { cpuRate, reference, targets, goals };
}

const cell = (s: Spread, digits: number) =>
  s.median === null
    ? '-'
    : s.median.toFixed(digits) + (s.min !== s.max ? ` [${s.min!.toFixed(digits)}–${s.max!.toFixed(digits)}]` : '');

/** A table of rows (first row = header), columns padded; the last column left-aligned. */
export function columns(rows: string[][], indent = '  '): string {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  return rows
    .map((r) => indent + r.map((v, c) => (c === r.length - 1 ? v : v.padEnd(widths[c]))).join('  '))
    .join('\n');
}

export function goalsText(g: GoalsReport, opts: BenchOptions): string {
  const rounds = g.targets[0]?.rounds ?? 1;
  const head =
    rounds > 1
      ? `per target, median of ${rounds} rounds [min–max]:`
      : 'per target (one round; --repeat=N gives medians):';
  const rows = [
    [
      'target',
      'sustained msg/s',
      `CPU ms/msg at ${g.cpuRate ?? '-'} msg/s`,
      'RSS MiB (sustained)',
      'ack p99 ms',
      'drain ms',
    ],
    ...g.targets.map((t) => [
      t.target === 'server' && opts.serverPeers > 0 ? `server (+${opts.serverPeers} peer)` : t.target,
      cell(t.sustainedRate, 0),
      cell(t.cpuPerMessageMs, 3),
      cell(t.rssAtSustainedMiB, 0),
      cell(t.ackP99AtSustainedMs, 1),
      t.target === 'server' ? cell(t.drainMs, 0) : '',
    ]),
  ];
  const goalRows = [
    ['goal', 'what', 'value', 'target', 'verdict'],
    ...g.goals.map((x) => [x.id, x.what, x.value, x.limit, x.verdict]),
  ];
  return [
    head,
    columns(rows),
    '  (CPU/msg: main + threads of the target, + Redis with the adapter, + PostgreSQL and Redis for the server;',
    '   PostgreSQL and Redis count every such process on the machine)',
    `goals (issue 11; goals 1 and 2 against ${g.reference}):`,
    columns(goalRows),
  ].join('\n');
}
