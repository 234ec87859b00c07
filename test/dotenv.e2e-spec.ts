import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { testEnv } from './setup/test-env';
import { eventually } from './utils/app';
import { freePort } from './utils/processes';

const MAIN = path.resolve(__dirname, '..', 'dist', 'src', 'main.js');

/** The server reads `.env` from its working directory, as Prisma's CLI does; the environment wins. */
describe('.env at boot (e2e)', () => {
  it('takes settings from .env, with the environment winning over the file', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'chat-dotenv-'));
    const port = freePort();
    const token = 'token-from-the-dotenv-file';
    writeFileSync(path.join(dir, '.env'), `PORT=${port}\nMETRICS_TOKEN=${token}\nLOG_FORMAT=pretty\n`);
    // LOG_FORMAT is in both: the environment's json must win.
    const env = { PATH: process.env.PATH ?? '', ...testEnv({ LOG_FORMAT: 'json', LOG_LEVEL: 'log' }) };
    const proc = spawn(process.execPath, [MAIN], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const url = `http://127.0.0.1:${port}`;
    try {
      await eventually(async () => (await fetch(`${url}/health`).catch(() => null))?.status === 200, 25_000, 'up');
      expect((await fetch(`${url}/metrics`)).status).toBe(401);
      const ok = await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${token}` } });
      expect(ok.status).toBe(200);
      const first = out.split('\n').find((l) => l.trim());
      expect(() => JSON.parse(first!) as unknown).not.toThrow();
    } finally {
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
