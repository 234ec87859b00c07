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
interface Report {
  targets: { target: string; steps: Step[]; drain?: { ackedTotal: number; dbCount: number; drainMs: number | null } }[];
  ratio: number | null;
}

/**
 * The bench drops its database each run: a name of its own, derived from the e2e database's
 * so that checkouts running tests side by side (each with its own TEST_DATABASE_URL) never
 * share it: chat_test → chat_bench_smoke_test, chat_x_test → chat_x_bench_smoke_test.
 */
function benchDatabaseUrl(): string {
  const url = new URL(TEST_DATABASE_URL);
  const name = decodeURIComponent(url.pathname.slice(1)).replace(/_test$/, '');
  url.pathname = `/${name}_bench_smoke_test`;
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

function runBench(args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const proc = spawn(process.execPath, [path.join(ROOT, 'dist', 'bench', 'run.js'), ...args], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (out += d.toString()));
    proc.once('exit', (code) => resolve({ code, out }));
  });
}

describe('bench harness (npm run bench)', () => {
  const resultsDir = path.join(mkdtempSync(path.join(tmpdir(), 'chat-bench-')), 'not-yet-created');
  afterAll(() => rmSync(path.dirname(resultsDir), { recursive: true, force: true }));

  it('runs both targets into a results folder it creates, every acked message stored', async () => {
    const { code, out } = await runBench([
      '--targets=baseline,server',
      '--clients=20',
      '--room-size=5',
      '--workers=1',
      '--steps=20,40',
      '--step-seconds=1',
      '--warmup-seconds=0',
      `--database-url=${benchDatabaseUrl()}`,
      `--redis-url=${benchRedisUrl()}`,
      `--results-dir=${resultsDir}`,
    ]);
    // On failure, show what the harness printed rather than just its exit code.
    expect(code === 0 ? 'exit 0' : `exit ${code}:\n${out.slice(-3000)}`).toBe('exit 0');

    const files = readdirSync(resultsDir);
    expect(files.filter((f) => f.endsWith('-server.log'))).toHaveLength(1);
    const [json] = files.filter((f) => f.endsWith('-delivery.json'));
    const report = JSON.parse(readFileSync(path.join(resultsDir, json), 'utf8')) as Report;

    expect(report.targets.map((t) => t.target)).toEqual(['baseline', 'server']);
    for (const t of report.targets) {
      expect(t.steps.length).toBeGreaterThan(0);
      for (const s of t.steps) {
        expect(s.acked).toBeGreaterThan(0);
        expect(s.missing).toBe(0);
        // Rooms of 5: each message reaches at least the 4 other members.
        expect(s.deliveries).toBeGreaterThanOrEqual(s.acked * 4);
      }
    }
    const server = report.targets[1];
    expect(server.drain).toBeDefined();
    expect(server.drain!.dbCount).toBe(server.drain!.ackedTotal);
    expect(server.drain!.drainMs).toEqual(expect.any(Number));
    expect(report.ratio).toEqual(expect.any(Number));
  }, 120_000);
});
