import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Redis from 'ioredis';
import { eventually, resetState, startApp, TestApp } from './utils/app';
import { freePort } from './utils/processes';
import { closeAllSockets, connect, emitAck } from './utils/sockets';
import { auth, createRoom, createUser, TestUser } from './utils/users';

/** Well above a command's usual time, well below a client's patience. */
const TIMEOUT_MS = 1000;

/**
 * A Redis that hangs (paused, swapping, a stalled failover) keeps its connections open: no
 * error ever comes, and every send and read waited with it, as long as it hung (a probe
 * paused a cluster master for 30 s). Commands now fail after REDIS_COMMAND_TIMEOUT_MS, and
 * the request with them, UNAVAILABLE, which a client retries; when Redis answers again,
 * so does the server, and a resend of the refused message is stored once.
 */
describe('a Redis that stops answering (e2e)', () => {
  let t: TestApp;
  let redis: ChildProcess;
  let dir: string;
  let alice: TestUser;
  let room: number;

  beforeAll(async () => {
    await resetState();
    const port = freePort();
    dir = mkdtempSync(path.join(os.tmpdir(), 'chat-redis-stall-'));
    redis = spawn('redis-server', ['--port', port, '--bind', '127.0.0.1', '--dir', dir, '--save', ''], {
      stdio: 'ignore',
    });
    const probe = new Redis({ port: Number(port), lazyConnect: true, retryStrategy: () => 50 });
    await probe.connect().catch(() => undefined);
    await eventually(async () => (await probe.ping()) === 'PONG', 10_000, `redis-server on ${port}`);
    probe.disconnect();
    t = await startApp({ REDIS_URL: `redis://127.0.0.1:${port}/0`, REDIS_COMMAND_TIMEOUT_MS: String(TIMEOUT_MS) });
    alice = await createUser(t, 'stallalice');
    room = await createRoom(t, alice);
  });
  afterAll(async () => {
    closeAllSockets();
    redis.kill('SIGCONT');
    await t?.close();
    redis.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses sends and reads UNAVAILABLE within the timeout while it hangs, and serves again after', async () => {
    const s = await connect(t.url, alice.token);
    expect((await emitAck(s, 'joinRoom', { chatroomId: room })).ok).toBe(true);
    const send = { chatroomId: room, clientMsgId: 'stall-1', message: { type: 'text', content: 'in the stall' } };

    redis.kill('SIGSTOP');
    try {
      const started = Date.now();
      const [ack, page] = await Promise.all([
        emitAck(s, 'sendMessage', send, 10_000),
        t.http().get(`/chatrooms/${room}/messages`).set(auth(alice)).timeout(10_000),
      ]);
      expect(ack).toMatchObject({ ok: false, error: { code: 'UNAVAILABLE' } });
      expect([page.status, page.body.code]).toEqual([503, 'UNAVAILABLE']);
      // A few timeouts in a row at most (a command may wait behind another), not the stall's length.
      expect(Date.now() - started).toBeLessThan(8 * TIMEOUT_MS);
    } finally {
      redis.kill('SIGCONT');
    }

    // The client resends; whatever Redis did with the first attempt, the message is there once.
    await eventually(async () => (await emitAck(s, 'sendMessage', send)).ok);
    const again = await emitAck(s, 'sendMessage', send); // one more resend: the first ack again
    expect(again.ok).toBe(true);
    const res = await t.http().get(`/chatrooms/${room}/messages`).set(auth(alice));
    expect(res.status).toBe(200);
    expect(res.body.items.filter((m: { content: string }) => m.content === 'in the stall')).toEqual([
      expect.objectContaining({ id: again.data.id, seq: again.data.seq }),
    ]);
  });
});
