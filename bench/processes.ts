/**
 * Starting and stopping the servers under test. Each runs in its own process so that it has
 * an event loop of its own, like in production, and the harness can kill it whatever state
 * it is in.
 */
import { type ChildProcess, fork, spawn } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import * as path from 'node:path';

const STOP_TIMEOUT_MS = 10_000;
const HEALTH_TIMEOUT_MS = 30_000;

const live = new Set<ChildProcess>();

/** Remembers a child so that an interrupted run can still kill it (and only it). */
export function track<T extends ChildProcess>(child: T): T {
  live.add(child);
  child.once('exit', () => live.delete(child));
  return child;
}

/** Last resort on SIGINT/SIGTERM of the harness: SIGKILL every child still running. */
export function killTracked(): void {
  for (const child of live) child.kill('SIGKILL');
}

/** A free TCP port on 127.0.0.1 (free when asked: fine for a single bench on one machine). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** SIGTERM, then SIGKILL if the process has not exited within the timeout. */
export async function stopProcess(child: ChildProcess, timeoutMs = STOP_TIMEOUT_MS): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  await exited;
  clearTimeout(timer);
}

/**
 * glibc's arena limit as `npm start` and the Dockerfile set it for the server (README,
 * Configuration), given to the bare baselines too so that only the code differs.
 */
const MALLOC_ENV = { MALLOC_ARENA_MAX: process.env.MALLOC_ARENA_MAX ?? '2' };

export interface Started {
  child: ChildProcess;
  url: string;
}

/** The bare socket.io server; with `redisUrl`, behind the socket.io Redis adapter; `port` 0 = any free one. */
export function startBaseline(redisUrl?: string, port = 0, nodeArgs: string[] = []): Promise<Started> {
  const script = path.join(__dirname, 'baseline-server.js');
  const env = { ...process.env, ...MALLOC_ENV, BASELINE_PORT: String(port), BASELINE_REDIS_URL: redisUrl ?? '' };
  // BENCH_BASELINE_NODE_ARGS: as BENCH_SERVER_NODE_ARGS for the server, e.g. to profile both alike.
  const own = (process.env.BENCH_BASELINE_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const child = track(fork(script, [], { env, execArgv: [...process.execArgv, ...own, ...nodeArgs] }));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('baseline server did not start within 10 s')), 10_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`baseline server exited (code ${code}) before listening`));
    });
    child.once('message', (m: { kind: string; port: number }) => {
      clearTimeout(timer);
      resolve({ child, url: `http://127.0.0.1:${m.port}` });
    });
  });
}

export interface ServerEnv {
  port: number;
  databaseUrl: string;
  redisUrl: string;
  jwtSecret: string;
  logFile: string;
  /** Node flags for the server alone (added to BENCH_SERVER_NODE_ARGS). */
  nodeArgs?: string[];
}

/** `node dist/src/main.js` from the repo root, its output in `logFile`. */
export async function startServer(
  repoRoot: string,
  e: ServerEnv,
  extraEnv: Record<string, string> = {},
  healthTimeoutMs = HEALTH_TIMEOUT_MS,
): Promise<Started> {
  const env = {
    ...process.env,
    ...MALLOC_ENV,
    PORT: String(e.port),
    DATABASE_URL: e.databaseUrl,
    REDIS_URL: e.redisUrl,
    JWT_SECRET: e.jwtSecret,
    NODE_ENV: 'development',
    LOG_LEVEL: 'warn',
    // The per-user send limit would otherwise measure the rate limiter, not the server.
    SEND_RATE_PER_SEC: '1000',
    SEND_BURST: '2000',
    // Likewise the per-user REST budget (the read-path bench calls as one user).
    REST_REQUESTS_PER_MIN: '100000000',
    // And the connections per address: every load worker connects from 127.0.0.1.
    CONNECTIONS_PER_ADDRESS_MAX: '0',
    ...extraEnv,
  };
  const log = createWriteStream(e.logFile);
  await new Promise((resolve) => log.once('open', resolve));
  // BENCH_SERVER_NODE_ARGS, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof": profile the server alone
  // (NODE_OPTIONS would reach the load workers too, and refuses --cpu-prof anyway).
  const nodeArgs = [...(process.env.BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean), ...(e.nodeArgs ?? [])];
  const child = track(
    spawn(process.execPath, [...nodeArgs, 'dist/src/main.js'], { cwd: repoRoot, env, stdio: ['ignore', log, log] }),
  );
  const url = `http://127.0.0.1:${e.port}`;
  try {
    await waitHealthy(child, url, e.logFile, healthTimeoutMs);
  } catch (err) {
    await stopProcess(child);
    throw err;
  }
  return { child, url };
}

async function waitHealthy(child: ChildProcess, url: string, logFile: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  while (Date.now() < deadline) {
    if (child.exitCode !== null) {
      throw new Error(`server exited with code ${child.exitCode} before /health answered\n${tail(logFile)}`);
    }
    try {
      const res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(2000) });
      if (res.status === 200) return;
      last = `HTTP ${res.status} ${await res.text()}`;
    } catch (err) {
      last = (err as Error).message;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`server /health not 200 within ${timeoutMs / 1000} s (last: ${last})\n${tail(logFile)}`);
}

function tail(file: string, lines = 20): string {
  try {
    const text = readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    return `--- last lines of ${file} ---\n${text}`;
  } catch {
    return '';
  }
}
