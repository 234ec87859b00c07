import { ChildProcess, spawn } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { testEnv } from '../setup/test-env';

const ROOT = path.resolve(__dirname, '..', '..');
const MAIN = path.join(ROOT, 'dist', 'src', 'main.js');

export interface ServerProcess {
  proc: ChildProcess;
  url: string;
  output: () => string;
  stop: () => Promise<number | null>;
}

/**
 * Runs the built server (`dist/src/main.js`, as `npm start` does) in a child process:
 * what the multi-instance and boot tests need. `npm test` builds first (pretest).
 */
export function spawnServer(env: Record<string, string>, args: string[] = []): ServerProcess {
  const proc = spawn(process.execPath, [MAIN, ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', ...testEnv(env) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  return {
    proc,
    url: `http://127.0.0.1:${env.PORT ?? 3000}`,
    output: () => out,
    stop: async () => {
      if (proc.exitCode === null) proc.kill('SIGTERM');
      return exited;
    },
  };
}

/** Waits until a spawned server answers /health with 200. */
export async function waitHealthy(s: ServerProcess, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (s.proc.exitCode !== null) throw new Error(`server exited (${s.proc.exitCode}): ${s.output()}`);
    try {
      const res = await fetch(`${s.url}/health`);
      if (res.status === 200) return;
    } catch {
      /* not listening yet */
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`server not healthy in ${timeoutMs} ms: ${s.output()}`);
}

/** Resolves with the exit code once the process ends (or rejects after the timeout). */
export function exitOf(s: ServerProcess, timeoutMs = 20_000): Promise<number | null> {
  return new Promise((resolve, reject) => {
    if (s.proc.exitCode !== null) return resolve(s.proc.exitCode);
    const timer = setTimeout(() => reject(new Error(`process still running after ${timeoutMs} ms`)), timeoutMs);
    s.proc.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

/**
 * A port for a spawned server, never handed out twice in one test run. Jest evaluates this
 * module afresh for every test file, so a counter here restarted in each file and two files
 * got the same ports: a server of an earlier file still exiting, or an outgoing connection
 * given that port by the kernel, made the next file's server fail with EADDRINUSE. Ports are
 * claimed by creating a file in the run's directory (E2E_PORT_DIR, made fresh by the global
 * setup; exclusive create is atomic), and sit below the kernel's ephemeral range (32768 and
 * up), where no outgoing connection lands, and below 26000: a local Redis Cluster's nodes
 * listen on port + 10000 too (the cluster bus), which once took a spawned server's port
 * (see REDIS_CLUSTER_PORTS).
 */
const PORTS_PER_RUN = 200;
/** Spawned servers' ports, in slots of PORTS_PER_RUN picked by pid (concurrent runs differ). */
export const SPAWN_PORTS = { from: 20_000, to: 26_000 };
const SPAWN_PORT_SLOTS = (SPAWN_PORTS.to - SPAWN_PORTS.from) / PORTS_PER_RUN;
/** A local Redis Cluster's ports: [16000, 17000), so its bus ports are [26000, 27000). */
export const REDIS_CLUSTER_PORTS = { from: 16_000, to: 17_000 };
export function freePort(): string {
  const dir = process.env.E2E_PORT_DIR ?? path.join(os.tmpdir(), `chat-e2e-ports-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  for (let n = 0; n < PORTS_PER_RUN; n++) {
    try {
      closeSync(openSync(path.join(dir, String(n)), 'wx'));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') continue;
      throw err;
    }
    return String(SPAWN_PORTS.from + (process.pid % SPAWN_PORT_SLOTS) * PORTS_PER_RUN + n);
  }
  throw new Error(`more than ${PORTS_PER_RUN} spawned-server ports in one run`);
}

/** Global setup: a fresh directory of claimed ports for this run (see freePort). */
export function preparePortClaims(): void {
  process.env.E2E_PORT_DIR = mkdtempSync(path.join(os.tmpdir(), 'chat-e2e-ports-'));
}

/** Registers and logs in `name` through a spawned server's REST API; `post` calls it as that user. */
export async function registerOn(base: string, name: string) {
  const password = 'correct horse battery';
  const post = (path: string, body: unknown, token?: string) =>
    fetch(`${base}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify(body),
    }).then((r) => r.json() as Promise<any>);
  const reg = await post('/auth/register', { username: name, password });
  const login = await post('/auth/login', { username: name, password });
  return { id: reg.id as number, token: login.accessToken as string, post };
}
