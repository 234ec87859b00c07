/**
 * One function per target: build its world, connect the load workers, run the scenario,
 * and tear everything down again whatever happened.
 */
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { DbCounter } from './db-counter';
import { runDelivery, type DeliveryResult } from './delivery';
import type { BenchOptions, Target } from './options';
import { freePort, startBaseline, startServer, stopProcess, type ServerEnv, type Started } from './processes';
import type { BenchRoom } from './protocol';
import { ResourceSampler } from './resources';
import { cleanRedis, resetDatabase, seed } from './setup';
import { groupIntoRooms, sliceRooms, syntheticRooms } from './topology';
import { WorkerPool } from './worker-pool';

export interface DrainReport {
  ackedTotal: number;
  dbCount: number;
  /** ms from the last send until the messages table held every acked message; null = timed out. */
  drainMs: number | null;
}

export interface TargetReport extends DeliveryResult {
  target: Target;
  url: string;
  setupMs: number;
  connectMs: number;
  drain?: DrainReport;
  serverLog?: string;
  /** 1-based round of a `--repeat` run. */
  round?: number;
}

async function connectAndRun(
  target: Target,
  server: { url: string; pid: number | undefined },
  rooms: BenchRoom[],
  opts: BenchOptions,
  counter?: DbCounter,
): Promise<Omit<TargetReport, 'setupMs'>> {
  const { url } = server;
  const started = Date.now();
  const pool = await WorkerPool.start(url, sliceRooms(rooms, opts.workers), opts.connectConcurrency);
  const connectMs = Date.now() - started;
  console.log(`[${target}] ${opts.clients} sockets in ${rooms.length} rooms connected and joined in ${connectMs} ms`);
  const sampler = new ResourceSampler(server.pid, pool.pids, counter ? [counter.backendPid] : []);
  try {
    return { target, url, connectMs, ...(await runDelivery(target, pool, sampler, opts, counter)) };
  } finally {
    await pool.stop();
  }
}

/** "baseline": bare socket.io; "baseline-redis": the same behind the Redis adapter. */
export async function benchBaseline(opts: BenchOptions, target: 'baseline' | 'baseline-redis'): Promise<TargetReport> {
  const started = Date.now();
  const server = await startBaseline(target === 'baseline-redis' ? opts.redisUrl : undefined);
  try {
    const setupMs = Date.now() - started;
    const what = target === 'baseline-redis' ? ` with the Redis adapter on ${opts.redisUrl}` : '';
    console.log(`[${target}] bare socket.io server${what} at ${server.url}`);
    const rooms = syntheticRooms(opts.clients, opts.roomSize, opts.jwtSecret);
    return { setupMs, ...(await connectAndRun(target, { url: server.url, pid: server.child.pid }, rooms, opts)) };
  } finally {
    await stopProcess(server.child);
  }
}

async function prepareServerWorld(opts: BenchOptions, repoRoot: string): Promise<BenchRoom[]> {
  const db = new URL(opts.databaseUrl).pathname.slice(1);
  console.log(`[server] recreating database ${db} and migrating`);
  await resetDatabase(opts.databaseUrl, repoRoot);
  const deleted = await cleanRedis(opts.redisUrl);
  console.log(`[server] removed ${deleted} chat:/bull: keys from ${opts.redisUrl}; seeding ${opts.clients} users`);
  const { users, roomIds } = await seed(opts.databaseUrl, opts.clients, opts.roomSize);
  return groupIntoRooms(users, roomIds, opts.roomSize, opts.jwtSecret);
}

async function measureDrain(counter: DbCounter, r: DeliveryResult, opts: BenchOptions): Promise<DrainReport> {
  const hit = await counter.reached(r.ackedTotal, r.lastSendAt, opts.drainTimeoutMs);
  return {
    ackedTotal: r.ackedTotal,
    dbCount: hit?.count ?? counter.latest(),
    drainMs: hit ? Math.round(hit.t - r.lastSendAt) : null,
  };
}

export async function benchServer(opts: BenchOptions, repoRoot: string, logFile: string): Promise<TargetReport> {
  if (!existsSync(path.join(repoRoot, 'dist/src/main.js'))) {
    throw new Error('dist/src/main.js not found: build the server first (npx tsc -p tsconfig.json)');
  }
  const started = Date.now();
  const rooms = await prepareServerWorld(opts, repoRoot);
  const port = await freePort();
  const env = { port, databaseUrl: opts.databaseUrl, redisUrl: opts.redisUrl, jwtSecret: opts.jwtSecret, logFile };
  // Peers first: the measured server then knows from its start that it is not alone.
  const peers = await startPeers(opts, repoRoot, env);
  const server = await startServer(repoRoot, env).catch(async (err: unknown) => {
    await Promise.all(peers.map((p) => stopProcess(p.child)));
    throw err;
  });
  let counter: DbCounter | undefined;
  try {
    counter = await DbCounter.start(opts.databaseUrl);
    const setupMs = Date.now() - started;
    console.log(`[server] dist/src/main.js healthy at ${server.url} (log: ${path.relative(repoRoot, logFile)})`);
    const result = await connectAndRun('server', { url: server.url, pid: server.child.pid }, rooms, opts, counter);
    const drain = await measureDrain(counter, result, opts);
    return { ...result, setupMs, drain, serverLog: logFile };
  } finally {
    await counter?.stop();
    await stopProcess(server.child);
    await Promise.all(peers.map((p) => stopProcess(p.child)));
  }
}

/**
 * Idle server instances on the same Redis (BENCH_SERVER_PEERS): no clients, no worker. With a
 * peer the measured server's adapter publishes every broadcast, as in a cluster; alone it
 * keeps them local (src/chat/instance-aware-redis-adapter.ts).
 */
async function startPeers(opts: BenchOptions, repoRoot: string, env: ServerEnv): Promise<Started[]> {
  const peers: Started[] = [];
  for (let i = 1; i <= opts.serverPeers; i++) {
    const logFile = env.logFile.replace(/-server\.log$/, `-peer${i}.log`);
    const peer = await startServer(repoRoot, { ...env, port: await freePort(), logFile }, { WORKER_ENABLED: 'false' });
    peers.push(peer);
    console.log(`[server] idle peer instance ${i} at ${peer.url}`);
  }
  return peers;
}
