/**
 * HTTP half of `npm run bench:reads`: the real server on the seeded database, one client
 * issuing requests back to back (keep-alive), GET /health on the same server as the
 * baseline of the run. Reports p50/p95/p99 per route and p95 as a multiple of /health's.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import * as jwt from 'jsonwebtoken';
import { freePort, startServer, stopProcess } from './processes';

const SECRET = 'bench-secret-not-for-production-use';
const REDIS_URL = process.env.BENCH_READS_REDIS_URL ?? 'redis://127.0.0.1:6379/12';
const N = Number(process.env.BENCH_READS_REQUESTS ?? 300);

interface Route {
  name: string;
  run: (i: number) => Promise<Response>;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function time(route: Route): Promise<number[]> {
  for (let i = 0; i < 20; i++) await (await route.run(i)).arrayBuffer(); // warm-up
  const out: number[] = [];
  for (let i = 0; i < N; i++) {
    const t0 = performance.now();
    const res = await route.run(i + 20);
    await res.arrayBuffer();
    if (!res.ok) throw new Error(`${route.name}: HTTP ${res.status}`);
    out.push(performance.now() - t0);
  }
  return out.sort((a, b) => a - b);
}

export async function measureHttp(databaseUrl: string): Promise<void> {
  const root = path.resolve(__dirname, '..', '..');
  mkdirSync(path.join(root, 'bench', 'results'), { recursive: true });
  const logFile = path.join(
    root,
    'bench',
    'results',
    `${new Date().toISOString().replace(/[:.]/g, '-')}-reads-server.log`,
  );
  const port = await freePort();
  const server = await startServer(root, { port, databaseUrl, redisUrl: REDIS_URL, jwtSecret: SECRET, logFile });
  try {
    const token = jwt.sign({ sub: 1, username: 'u1', role: 'user' }, SECRET, { algorithm: 'HS256', expiresIn: '1h' });
    const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    const get = (p: string) => fetch(`${server.url}${p}`, { headers });
    const routes: Route[] = [
      { name: 'GET /health (baseline)', run: () => get('/health') },
      { name: 'GET /inbox (200 rooms)', run: () => get('/inbox') },
      {
        name: 'POST /inbox/read (room of 1,000)',
        run: (i) =>
          fetch(`${server.url}/inbox/read`, {
            method: 'POST',
            headers,
            body: JSON.stringify({ chatroomId: 1000, seq: 500 + i }),
          }),
      },
      { name: 'GET /chatrooms/1/messages (page of 50)', run: () => get('/chatrooms/1/messages?limit=50') },
      { name: 'GET /inbox/messages?unread=true', run: () => get('/inbox/messages?unread=true&limit=50') },
    ];
    const results: { name: string; p50: number; p95: number; p99: number }[] = [];
    for (const r of routes) {
      const t = await time(r);
      results.push({ name: r.name, p50: percentile(t, 50), p95: percentile(t, 95), p99: percentile(t, 99) });
      process.stdout.write(`[reads] ${r.name}: done\n`);
    }
    const base = results[0].p95;
    console.log(`\n== HTTP latency, ${N} sequential requests each (ms) ==`);
    console.log('route'.padEnd(42) + 'p50'.padStart(8) + 'p95'.padStart(8) + 'p99'.padStart(8) + '  p95 / health');
    for (const r of results) {
      const cells = [r.p50, r.p95, r.p99].map((v) => v.toFixed(2).padStart(8)).join('');
      console.log(r.name.padEnd(42) + cells + `  ${(r.p95 / base).toFixed(1)}x`);
    }
  } finally {
    await stopProcess(server.child);
  }
}
