import { evaluate, fastStep } from './goals';
import type { StepReport } from './delivery';
import type { BenchOptions } from './options';
import type { TargetReport } from './targets';

/** Just what the goals read of a step. */
function step(rate: number, ackP99: number, verdict = 'ok'): StepReport {
  return {
    rate,
    verdict,
    sentPerSec: rate,
    ack: { p50: 1, p99: ackP99 },
    resources: { cpuMain: 0.2, cpuOtherThreads: 0.05, cpuPostgres: 0.03, cpuRedis: 0.03, rssMiB: 200 },
  } as unknown as StepReport;
}

function run(target: TargetReport['target'], steps: StepReport[]): TargetReport {
  const passed = steps.filter((s) => s.verdict === 'ok');
  return {
    target,
    steps,
    sustainedRate: passed.at(-1)?.rate ?? null,
    drain: { drainMs: 200, dbCount: 10, ackedTotal: 10 },
  } as unknown as TargetReport;
}

const opts = {
  targets: ['baseline', 'server'],
  steps: [1000, 3000, 4000],
  cpuRate: 1000,
  serverPeers: 0,
  drainTimeoutMs: 5000,
} as unknown as BenchOptions;
const bare = run('baseline', [step(1000, 5), step(3000, 10), step(4000, 20)]);
const goal2 = (server: TargetReport) =>
  evaluate([[bare, server]], opts).goals.find((g) => g.what.startsWith('ack p99 < 50 ms'))!;

describe('goal 2: a sustained rate with ack p99 under 50 ms', () => {
  it('takes the highest sustained step whose ack p99 is under 50 ms, not the highest sustained one', () => {
    const server = run('server', [step(1000, 8), step(3000, 40.5), step(4000, 52.4)]);
    expect(fastStep(server)?.rate).toBe(3000);
    const g = goal2(server);
    expect(g.value).toBe('0.75x (3000 msg/s, ack p99 40.5 ms)');
    expect(g.verdict).toBe('PASS');
  });

  it('misses when the only fast steps are below 0.7x', () => {
    const g = goal2(run('server', [step(1000, 8), step(3000, 60), step(4000, 70)]));
    expect(g.value).toBe('0.25x (1000 msg/s, ack p99 8.0 ms)');
    expect(g.verdict).toBe('MISS');
  });

  it('ignores a fast step that was not sustained, and misses with none', () => {
    const server = run('server', [step(1000, 60), step(3000, 10, 'p99>100ms')]);
    expect(fastStep(server)).toBeUndefined();
    const g = goal2(server);
    expect(g.value).toBe('- (no sustained step with ack p99 < 50 ms)');
    expect(g.verdict).toBe('MISS');
  });
});
