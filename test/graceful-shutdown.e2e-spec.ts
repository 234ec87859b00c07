import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { eventually, resetState, sql } from './utils/app';
import { exitOf, freePort, registerOn, ServerProcess, spawnServer, waitHealthy } from './utils/processes';
import { closeAllSockets, connect, emitAck } from './utils/sockets';

/** SIGTERM on the real process: in-flight sends are acknowledged, it exits, nothing acked is lost. */
describe('graceful shutdown (e2e)', () => {
  let stopLater: ServerProcess | undefined;
  afterAll(async () => {
    closeAllSockets();
    await stopLater?.stop(); // only does something if the test failed before SIGTERM
  });

  it('acks what is in flight, exits cleanly, and every acked message is stored exactly once', async () => {
    await resetState();
    const s = spawnServer({ PORT: freePort(), SEND_BURST: '500' });
    stopLater = s;
    await eventually(async () => (await fetch(`${s.url}/health`).catch(() => null))?.status === 200, 20_000, 'healthy');
    const post = (path: string, body: unknown, token?: string) =>
      fetch(`${s.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body: JSON.stringify(body),
      }).then((r) => r.json() as Promise<any>);
    await post('/auth/register', { username: 'leaving', password: 'correct horse battery' });
    const { accessToken } = await post('/auth/login', { username: 'leaving', password: 'correct horse battery' });
    const room = (await post('/chatrooms', { name: 'bye' }, accessToken)).id as number;
    const socket = await connect(s.url, accessToken);
    const sends = Array.from({ length: 200 }, (_, i) =>
      emitAck(socket, 'sendMessage', { chatroomId: room, message: { type: 'text', content: `m${i}` } }, 10_000).catch(
        () => null,
      ),
    );
    await Promise.race(sends); // the first ack is back; most sends are still in flight
    s.proc.kill('SIGTERM');
    const acked = (await Promise.all(sends)).filter((a) => a?.ok).map((a) => a!.data.id as string);
    const code = await exitOf(s);
    // Nest closes everything, then re-raises the signal: the process ends by SIGTERM, not by a crash.
    expect({ code, signal: s.proc.signalCode }).toEqual({ code: null, signal: 'SIGTERM' });
    expect(s.output()).not.toMatch(/ERROR/);
    expect(acked.length).toBeGreaterThan(0);
    // Its worker finished the batch in hand; jobs still waiting stay in the queue (Redis) for
    // the next worker. Start one: every acked message lands, once.
    const next = spawnServer({ PORT: freePort() }, ['--worker']);
    try {
      const rows = await eventually(
        async () => {
          const r = await sql<{ id: string }>('SELECT id FROM messages WHERE chatroom_id = $1', [room]);
          return acked.every((id) => r.some((x) => x.id === id)) ? r : null;
        },
        15_000,
        'every acked message stored',
      );
      expect(new Set(rows!.map((r) => r.id)).size).toBe(rows!.length);
    } finally {
      await next.stop();
    }
  });

  it('does not wait for a client that never answers its close frame', async () => {
    await resetState();
    const s = spawnServer({ PORT: freePort() });
    stopLater = s;
    await eventually(async () => (await fetch(`${s.url}/health`).catch(() => null))?.status === 200, 20_000, 'healthy');
    const { token } = await registerOn(s.url, 'frozen');
    const frozen = await connect(s.url, token);
    const lively = await connect(s.url, token);
    const livelyGone = new Promise((resolve) => lively.once('disconnect', resolve));
    // A client whose process froze (or whose network went away): it reads nothing more, so
    // it never answers the server's WebSocket close frame. ws waits 30 s for that answer.
    const tcp = (frozen.io.engine.transport as unknown as { ws: { _socket: { pause(): void } } }).ws._socket;
    tcp.pause();
    s.proc.kill('SIGTERM');
    await livelyGone; // the others are told at once
    await exitOf(s, 10_000);
    expect(s.proc.signalCode).toBe('SIGTERM');
  });

  it('takes a heap snapshot on SIGUSR2 and keeps serving; SIGHUP stops it gracefully', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'chat-heap-'));
    // How operators ask a running Node server for a heap snapshot. Nest's default shutdown
    // hooks took SIGUSR2 too: the snapshot was written, then the server shut down.
    const s = spawnServer({ PORT: freePort(), NODE_OPTIONS: `--heapsnapshot-signal=SIGUSR2 --diagnostic-dir=${dir}` });
    stopLater = s;
    await waitHealthy(s);
    s.proc.kill('SIGUSR2');
    const file = await eventually(
      () => readdirSync(dir).find((f) => f.endsWith('.heapsnapshot')) ?? null,
      30_000,
      'a heap snapshot written',
    );
    await expect(exitOf(s, 5_000)).rejects.toThrow('still running');
    expect((await fetch(`${s.url}/health`)).status).toBe(200);
    expect(statSync(path.join(dir, file!)).size).toBeGreaterThan(0);
    s.proc.kill('SIGHUP');
    await exitOf(s);
    expect(s.proc.signalCode).toBe('SIGHUP');
    expect(s.output()).not.toMatch(/ERROR/);
    rmSync(dir, { recursive: true, force: true }); // tens of MB: not left in /tmp by every run
  });
});
