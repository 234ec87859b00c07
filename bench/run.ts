/**
 * Entry point of `npm run bench`: parses options, runs the scenario against each target in
 * order (delivery: `--repeat` rounds of them), prints a table per target, the goals of
 * issue 11 with PASS/MISS, and writes the whole run to bench/results/<timestamp>-<scenario>.json
 * (delivery: and a latency plot, <timestamp>-delivery.svg).
 */
import { mkdirSync } from 'node:fs';
import * as path from 'node:path';
import { parseOptions, usage, type BenchOptions } from './options';
import { killTracked } from './processes';
import { runReads } from './read-paths';
import { runFleetScenario } from './fleet';
import { evaluate, goalsText } from './goals';
import { writePlot } from './plot';
import { machine, summary, table, writeJson } from './report';
import { benchBaseline, benchServer, type TargetReport } from './targets';

const repoRoot = path.resolve(__dirname, '..', '..');

function describe(opts: BenchOptions): string {
  const rooms = opts.clients / opts.roomSize;
  return (
    `delivery: ${opts.clients} sockets in ${rooms} rooms of ${opts.roomSize}, ${opts.workers} load worker(s), ` +
    `${opts.warmupSeconds} s warm-up, steps ${opts.steps.join(',')} msg/s x ${opts.stepSeconds} s ` +
    `(+ up to ${opts.graceMs} ms grace), targets ${opts.targets.join(',')}` +
    (opts.serverPeers ? ` (server with ${opts.serverPeers} idle peer instance(s): it publishes every broadcast)` : '') +
    (opts.repeat > 1 ? `, ${opts.repeat} rounds` : '')
  );
}

async function runDeliveryScenario(opts: BenchOptions, resultsDir: string, stamp: string): Promise<object> {
  console.log(describe(opts));
  const rounds: TargetReport[][] = [];
  // Rounds interleave the targets, so a slow minute on the machine hits all of them alike.
  for (let round = 1; round <= opts.repeat; round++) {
    if (opts.repeat > 1) console.log(`\n=== round ${round} of ${opts.repeat} ===`);
    const reports: TargetReport[] = [];
    const tag = opts.repeat > 1 ? `-r${round}` : '';
    for (const target of opts.targets) {
      const report =
        target !== 'server'
          ? await benchBaseline(opts, target)
          : await benchServer(opts, repoRoot, path.join(resultsDir, `${stamp}${tag}-server.log`));
      reports.push({ ...report, round });
      console.log('\n' + table(report) + '\n');
    }
    if (opts.repeat === 1) console.log(summary(reports, opts).text + '\n');
    rounds.push(reports);
  }
  const goals = evaluate(rounds, opts);
  console.log(goalsText(goals, opts));
  const base = goals.targets.find((t) => t.target === 'baseline')?.sustainedRate.median;
  const real = goals.targets.find((t) => t.target === 'server')?.sustainedRate.median;
  const ratio = base && real !== undefined ? (real ?? 0) / base : null;
  const plot = `${stamp}-delivery.svg`;
  const title =
    `delivery: ${opts.clients} sockets, rooms of ${opts.roomSize}` +
    (opts.repeat > 1 ? ` (median of ${opts.repeat} rounds)` : '');
  writePlot(path.join(resultsDir, plot), rounds, opts.targets, title, opts.p99LimitMs);
  console.log(`plot: ${path.relative(process.cwd(), path.join(resultsDir, plot))}`);
  return { targets: rounds.flat(), rounds: opts.repeat, goals, ratio, plot };
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(usage());
    return;
  }
  // The read-path scenario has its own seeded database and flags (bench/read-paths.ts).
  const scenarioFlag = argv.findIndex((a) => a === '--scenario' || a.startsWith('--scenario='));
  const scenario =
    scenarioFlag < 0 ? process.env.BENCH_SCENARIO : (argv[scenarioFlag].split('=')[1] ?? argv[scenarioFlag + 1]);
  if (scenario === 'reads') {
    const rest = argv.filter(
      (_, i) => i !== scenarioFlag && !(argv[scenarioFlag] === '--scenario' && i === scenarioFlag + 1),
    );
    await runReads(rest);
    return;
  }
  const opts = parseOptions(argv, process.env);
  const startedAt = new Date();
  const stamp = startedAt.toISOString().replace(/[:.]/g, '-');
  const resultsDir = path.resolve(repoRoot, opts.resultsDir);
  // The server's log goes here before any result does; a fresh clone has no such folder.
  mkdirSync(resultsDir, { recursive: true });
  const result =
    opts.scenario === 'delivery'
      ? await runDeliveryScenario(opts, resultsDir, stamp)
      : await runFleetScenario(opts, repoRoot, resultsDir, stamp);
  // The secret is a throw-away, but a results file is no place for secrets.
  const shown = { ...opts, jwtSecret: '(not recorded)' };
  const file = writeJson(resultsDir, `${stamp}-${opts.scenario}`, {
    scenario: opts.scenario,
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    options: shown,
    machine: machine(),
    ...result,
  });
  console.log(`results: ${path.relative(process.cwd(), file)}`);
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    console.error(`bench: ${signal}, killing the processes it started`);
    killTracked();
    process.exit(130);
  });
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(`bench failed: ${err instanceof Error ? err.message : String(err)}`);
    killTracked();
    process.exit(1);
  },
);
