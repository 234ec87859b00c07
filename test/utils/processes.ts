import { ChildProcess, spawn } from 'node:child_process';
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

/** A port unlikely to clash: tests that spawn servers pick from a per-run range. */
let nextPort = 43000 + (process.pid % 500) * 4;
export const freePort = () => String(nextPort++);

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
