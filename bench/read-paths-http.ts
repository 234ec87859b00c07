/**
 * HTTP half of `npm run bench:reads`: the real server on the seeded database, one client
 * issuing requests back to back (node:http, one keep-alive connection) after a warm-up,
 * GET /health on the same server as the baseline of the run. Reports p50/p95/p99 per route and p95 as a multiple of /health's.
 */
import { mkdirSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import * as jwt from 'jsonwebtoken';
import Redis from 'ioredis';
import { Client } from 'pg';
import { RedisKeys, useKeyNamespace } from '../src/common/constants';
import { DatabaseIdentity } from '../src/redis/database-identity';
import { freePort, startServer, stopProcess } from './processes';

const SECRET = 'bench-secret-not-for-production-use';
const REDIS_URL = process.env.BENCH_READS_REDIS_URL ?? 'redis://127.0.0.1:6379/12';
const N = Number(process.env.BENCH_READS_REQUESTS ?? 1000);
// Enough calls for the JIT to reach its optimised code before the clock starts (fewer when a
// smoke test asks for only a few requests).
const WARMUP = Math.min(200, N);

interface Reply {
  status: number;
  ok: boolean;
}

interface Route {
  name: string;
  run: (i: number) => Promise<Reply>;
  /** Untimed set-up before each request. */
  prepare?: () => Promise<unknown>;
}

// node:http on one keep-alive connection, not fetch: undici's fetch added about 2 ms per
// request on this machine (GET /health 2.1 ms p50 against 1.4), which is client time, not
// server time, and it doubled the tails of every route.
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

function request(base: string, method: string, path: string, headers: Record<string, string>, body?: string) {
  return new Promise<Reply>((resolve, reject) => {
    const req = http.request(new URL(path, base), { method, agent, headers }, (res) => {
      res.resume(); // the body is read in full before the clock stops
      res.on('end', () => {
        const status = res.statusCode ?? 0;
        resolve({ status, ok: status >= 200 && status < 300 });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function time(route: Route): Promise<number[]> {
  for (let i = 0; i < WARMUP; i++) {
    await route.prepare?.();
    await route.run(i);
  }
  const out: number[] = [];
  for (let i = 0; i < N; i++) {
    await route.prepare?.();
    const t0 = performance.now();
    const res = await route.run(i + WARMUP);
    if (!res.ok) throw new Error(`${route.name}: HTTP ${res.status}`);
    out.push(performance.now() - t0);
  }
  return out.sort((a, b) => a - b);
}

/** `perRoom`: messages in each seeded room (members have read half of it). */
export async function measureHttp(databaseUrl: string, perRoom: number): Promise<void> {
  const half = perRoom / 2;
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
  const db = new Client({ connectionString: databaseUrl });
  await db.connect();
  // Redis names carry the database identity, as the server's do (src/common/constants.ts):
  // without it this process could not name the inbox counts it deletes.
  const { rows } = await db.query<{ id: string }>('SELECT id::text AS id FROM database_identity');
  useKeyNamespace(new DatabaseIdentity(rows[0].id).tag);
  const redis = new Redis(REDIS_URL);
  try {
    const token = jwt.sign({ sub: 1, username: 'u1', role: 'user' }, SECRET, { algorithm: 'HS256', expiresIn: '1h' });
    const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    const get = (p: string) => request(server.url, 'GET', p, headers);
    const few = jwt.sign({ sub: 500, username: 'u500', role: 'user' }, SECRET, { algorithm: 'HS256', expiresIn: '1h' });
    const getAs = (bearer: string, p: string) =>
      request(server.url, 'GET', p, { ...headers, authorization: `Bearer ${bearer}` });
    const routes: Route[] = [
      { name: 'GET /health (baseline)', run: () => get('/health') },
      { name: 'GET /inbox (200 rooms)', run: () => get('/inbox') },
      {
        // The worst case: no cached count (a new Redis, or every room changed), 200 recounts.
        name: 'GET /inbox (200 rooms, counts not cached)',
        prepare: () => redis.del(RedisKeys.unreadCounts(1)),
        run: () => get('/inbox'),
      },
      {
        // Every request really moves the position (from the middle, 500, to 501..999), so each
        // one pays for the write, the pruning and recounting the room, as a reader scrolling does.
        name: 'POST /inbox/read (room of 1,000)',
        prepare: () =>
          db.query('UPDATE chatroom_members SET read_seq = $1 WHERE chatroom_id = 1000 AND user_id = 1', [half]),
        run: (i) =>
          request(
            server.url,
            'POST',
            '/inbox/read',
            headers,
            JSON.stringify({ chatroomId: 1000, seq: half + 1 + (i % (half - 1)) }),
          ),
      },
      { name: 'GET /chatrooms/1/messages (page of 50)', run: () => get('/chatrooms/1/messages?limit=50') },
      { name: 'GET /inbox/messages?unread=true', run: () => get('/inbox/messages?unread=true&limit=50') },
      { name: 'GET /inbox/messages (200 rooms)', run: () => get('/inbox/messages?limit=50') },
      // A user of 11 rooms: the page costs what their rooms hold, not the million messages.
      {
        name: 'GET /inbox/messages?unread=true (11 rooms)',
        run: () => getAs(few, '/inbox/messages?unread=true&limit=50'),
      },
      { name: 'GET /inbox/messages (11 rooms)', run: () => getAs(few, '/inbox/messages?limit=50') },
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
    agent.destroy();
    await db.end();
    redis.disconnect();
    await stopProcess(server.child);
  }
}
