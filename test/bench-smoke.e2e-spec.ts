// `npm run bench` is how the delivery targets are measured, so it has to work from a fresh
// clone: this runs the real harness (both targets, its own database, forked load workers)
// at a tiny size and checks that it measured something and persisted every message. It
// asserts no speed: figures come from full bench runs, never from tests.
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { TEST_DATABASE_URL, TEST_REDIS_URL } from './setup/test-env';

const ROOT = path.resolve(__dirname, '..');

interface Step {
  rate: number;
  acked: number;
  missing: number;
  deliveries: number;
}
interface Spread {
  median: number | null;
  min: number | null;
  max: number | null;
  values: (number | null)[];
}
interface Report {
  targets: {
    target: string;
    round: number;
    steps: Step[];
    sustainedRate: number | null;
    drain?: { ackedTotal: number; dbCount: number; drainMs: number | null };
  }[];
  rounds: number;
  ratio: number | null;
  plot: string;
  goals: {
    cpuRate: number | null;
    reference: string;
    targets: { target: string; rounds: number; sustainedRate: Spread; cpuPerMessageMs: Spread }[];
    goals: { id: string; what: string; value: string; verdict: string }[];
  };
}

/**
 * The bench drops its database each run: a name of its own, derived from the e2e database's
 * so that checkouts running tests side by side (each with its own TEST_DATABASE_URL) never
 * share it: chat_test → chat_bench_smoke_test, chat_x_test → chat_x_bench_smoke_test.
 */
function benchDatabaseUrl(kind = 'bench'): string {
  const url = new URL(TEST_DATABASE_URL);
  const name = decodeURIComponent(url.pathname.slice(1)).replace(/_test$/, '');
  url.pathname = `/${name}_${kind}_smoke_test`;
  return url.toString();
}

/**
 * It deletes chat:* keys in its Redis database: never the one the e2e files use.
 * TEST_BENCH_REDIS_URL sets it; otherwise it is TEST_REDIS_URL's database number with bit 3
 * flipped (15 → 7, 7 → 15, and 8 → 14 since 0 is a developer's), which is never TEST_REDIS_URL's own.
 */
function benchRedisUrl(): string {
  if (process.env.TEST_BENCH_REDIS_URL) return process.env.TEST_BENCH_REDIS_URL;
  const url = new URL(TEST_REDIS_URL);
  const db = Number(url.pathname.slice(1) || '0');
  const flipped = (db ^ 8) % 16;
  const mapped = flipped === 0 ? 14 : flipped;
  url.pathname = `/${mapped}`;
  return url.toString();
}

function runBench(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const proc = spawn(process.execPath, [path.join(ROOT, 'dist', 'bench', 'run.js'), ...args], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (out += d.toString()));
    proc.once('exit', (code) => resolve({ code, out }));
  });
}

const median = (vs: number[]) => {
  const s = [...vs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

describe('bench harness (npm run bench)', () => {
  const resultsDir = path.join(mkdtempSync(path.join(tmpdir(), 'chat-bench-')), 'not-yet-created');
  afterAll(() => rmSync(path.dirname(resultsDir), { recursive: true, force: true }));
  const common = [
    '--workers=1',
    `--database-url=${benchDatabaseUrl()}`,
    `--redis-url=${benchRedisUrl()}`,
    `--results-dir=${resultsDir}`,
  ];
  const newest = (suffix: string) => {
    const files = readdirSync(resultsDir)
      .filter((f) => f.endsWith(suffix))
      .sort();
    return path.join(resultsDir, files[files.length - 1]);
  };
  // On failure, show what the harness printed rather than just its exit code.
  const exitOk = (code: number | null, out: string) =>
    expect(code === 0 ? 'exit 0' : `exit ${code}:\n${out.slice(-3000)}`).toBe('exit 0');

  it('runs two rounds of both targets into a results folder it creates: every acked message stored, goals, medians and a plot', async () => {
    const { code, out } = await runBench([
      '--targets=baseline,server',
      '--clients=20',
      '--room-size=5',
      '--steps=20,40',
      '--step-seconds=1',
      '--warmup-seconds=0',
      '--repeat=2',
      ...common,
    ]);
    exitOk(code, out);

    const files = readdirSync(resultsDir);
    expect(files.filter((f) => f.endsWith('-server.log'))).toHaveLength(2);
    const report = JSON.parse(readFileSync(newest('-delivery.json'), 'utf8')) as Report;

    expect(report.rounds).toBe(2);
    expect(report.targets.map((t) => `${t.target}#${t.round}`)).toEqual([
      'baseline#1',
      'server#1',
      'baseline#2',
      'server#2',
    ]);
    for (const t of report.targets) {
      expect(t.steps.length).toBeGreaterThan(0);
      for (const s of t.steps) {
        expect(s.acked).toBeGreaterThan(0);
        expect(s.missing).toBe(0);
        // Rooms of 5: each message reaches at least the 4 other members.
        expect(s.deliveries).toBeGreaterThanOrEqual(s.acked * 4);
      }
    }
    for (const server of report.targets.filter((t) => t.target === 'server')) {
      expect(server.drain).toBeDefined();
      expect(server.drain!.dbCount).toBe(server.drain!.ackedTotal);
      expect(server.drain!.drainMs).toEqual(expect.any(Number));
    }
    expect(report.ratio === null || typeof report.ratio === 'number').toBe(true);

    // The summary: CPU per message per target, the goals with a verdict each, medians over the rounds.
    expect(out).toContain('goals (issue 11');
    expect(out).toMatch(/median of 2 rounds/);
    const g = report.goals;
    expect(g.reference).toBe('baseline');
    // The highest step at most --cpu-rate (1000) that every run ran: a run stops after its first miss.
    expect([20, 40]).toContain(g.cpuRate);
    expect(g.targets.map((t) => t.target)).toEqual(['baseline', 'server']);
    for (const t of g.targets) {
      expect(t.rounds).toBe(2);
      // A round that sustained no step counts as 0 msg/s.
      const rates = report.targets.filter((r) => r.target === t.target).map((r) => r.sustainedRate ?? 0);
      expect(t.sustainedRate.values).toEqual(rates);
      expect(t.sustainedRate.median).toBe(median(rates));
      expect(t.sustainedRate.min).toBe(Math.min(...rates));
      expect(t.sustainedRate.max).toBe(Math.max(...rates));
      if (process.platform === 'linux') {
        expect(t.cpuPerMessageMs.values).toHaveLength(2);
        expect(t.cpuPerMessageMs.median).toEqual(expect.any(Number));
        expect(t.cpuPerMessageMs.min!).toBeLessThanOrEqual(t.cpuPerMessageMs.max!);
      }
    }
    const ids = g.goals.map((x) => x.id);
    for (const id of ['1', '2', '3']) expect(ids).toContain(id);
    for (const x of g.goals) expect(['PASS', 'MISS', 'n/a']).toContain(x.verdict);
    expect(g.goals.find((x) => x.what.startsWith('every acked message persisted'))?.verdict).toBe('PASS');

    // The plot: an SVG next to the JSON, one p50 and one p99 path per target.
    expect(report.plot).toMatch(/-delivery\.svg$/);
    const svg = readFileSync(path.join(resultsDir, report.plot), 'utf8');
    expect(svg.trimStart().startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    expect(svg.match(/<svg\b/g)).toHaveLength(1);
    // Well-formed enough: every element is self-closed or closed, in order.
    const stack: string[] = [];
    for (const [, close, name, self] of svg.matchAll(/<(\/?)([a-z]+)\b[^>]*?(\/?)>/g)) {
      if (close) expect(stack.pop()).toBe(name);
      else if (!self) stack.push(name);
    }
    expect(stack).toEqual([]);
    for (const target of ['baseline', 'server']) {
      for (const stat of ['p50', 'p99']) {
        const paths = svg.match(new RegExp(`<path data-target="${target}" data-stat="${stat}" d="M[^"]+"`, 'g'));
        expect(paths).toHaveLength(1);
      }
    }
    expect(svg.match(/<path /g)).toHaveLength(4);
  }, 240_000);

  it('idle: reports the empty footprint, memory per connected socket and the join storm', async () => {
    const { code, out } = await runBench([
      '--scenario=idle',
      '--sockets=50',
      '--room-size=25',
      '--rooms-per-socket=2',
      '--settle-ms=200',
      ...common,
    ]);
    exitOk(code, out);
    expect(out).toMatch(/memory per idle connection .* (PASS|MISS)/);
    const report = JSON.parse(readFileSync(newest('-idle.json'), 'utf8')) as {
      targets: {
        target: string;
        sockets: number;
        emptyRssMiB: number;
        emptyAnonMiB: number;
        perSocketKiB: number;
        perSocketAnonKiB: number;
        connectMs: number;
      }[];
    };
    expect(report.targets.map((t) => t.target)).toEqual(['baseline', 'server']);
    for (const t of report.targets) {
      expect(t.sockets).toBe(50);
      expect(t.connectMs).toEqual(expect.any(Number));
      if (process.platform === 'linux') {
        expect(t.emptyRssMiB).toBeGreaterThan(0);
        expect(t.emptyAnonMiB).toBeGreaterThan(0);
        expect(t.emptyAnonMiB).toBeLessThan(t.emptyRssMiB);
        expect(t.perSocketKiB).toEqual(expect.any(Number));
        expect(t.perSocketAnonKiB).toEqual(expect.any(Number));
      }
    }
  }, 180_000);

  it('reconnect: every socket comes back after a restart, with the time and the events of the storm', async () => {
    const { code, out } = await runBench(['--scenario=reconnect', '--sockets=50', '--room-size=25', ...common]);
    exitOk(code, out);
    const report = JSON.parse(readFileSync(newest('-reconnect.json'), 'utf8')) as {
      targets: {
        target: string;
        back: number;
        dropped: number;
        stormMs: number | null;
        restartedMs: number;
        messages: number;
        events: Record<string, number>;
        verdict: string;
      }[];
    };
    expect(report.targets.map((t) => t.target)).toEqual(['baseline', 'server']);
    for (const t of report.targets) {
      expect(t.dropped).toBe(50);
      expect(t.back).toBe(50);
      expect(t.stormMs).toBeGreaterThan(0);
      expect(t.messages).toEqual(expect.any(Number));
      expect(['PASS', 'MISS']).toContain(t.verdict);
    }
  }, 300_000);

  // Its break (Redis keys named without the database identity) went unnoticed until a
  // manual run: the same scenario at 50 messages a room instead of 1,000.
  it('reads: seeds, explains the hot queries and times every route against the real server', async () => {
    const { code, out } = await runBench(['--scenario=reads', '--reseed'], {
      BENCH_READS_DATABASE_URL: benchDatabaseUrl('bench_reads'),
      BENCH_READS_REDIS_URL: benchRedisUrl(),
      BENCH_READS_MESSAGES: '50000',
      BENCH_READS_REQUESTS: '20',
    });
    exitOk(code, out);
    expect(out).toContain('seeded 50000 messages in 1000 rooms');
    expect(out.match(/^=== .*\(best of 5\)$/gm)).toHaveLength(4);
    const table = out.slice(out.indexOf('== HTTP latency, 20 sequential requests each'));
    for (const route of [
      'GET /health (baseline)',
      'GET /inbox (200 rooms)',
      'GET /inbox (200 rooms, counts not cached)',
      'POST /inbox/read (room of 1,000)',
      'GET /chatrooms/1/messages (page of 50)',
      'GET /inbox/messages?unread=true',
    ]) {
      expect(table).toMatch(
        new RegExp(`^${route.replace(/[()?/]/g, '\\$&')} +[\\d.]+ +[\\d.]+ +[\\d.]+ +[\\d.]+x$`, 'm'),
      );
    }
  }, 180_000);
});
