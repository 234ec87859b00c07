import { ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Redis from 'ioredis';
import { Client } from 'pg';
import { TEST_DATABASE_URL } from './setup/test-env';
import { eventually, resetState, sql, startApp, TestApp } from './utils/app';
import { ServerProcess, spawnServer } from './utils/processes';
import { closeAllSockets, connect, emitAck, sleep } from './utils/sockets';
import { createRoom, createUser, TestUser } from './utils/users';

/**
 * "Acked means durable" through crashes, timed: everything acked is stored within 5 s of a
 * worker and Redis being available again, exactly once. (BullMQ's defaults took about a
 * minute: 30 s lock, 30 s stalled check, reconnects backing off to 20 s.)
 */

/** Holds a lock on messages that blocks INSERTs (reads go on), from a connection of its own. */
async function lockMessages(): Promise<{ release: () => Promise<void> }> {
  const c = new Client({ connectionString: TEST_DATABASE_URL });
  await c.connect();
  await c.query('BEGIN');
  await c.query('LOCK TABLE messages IN EXCLUSIVE MODE');
  return {
    release: async () => {
      await c.query('COMMIT');
      await c.end();
    },
  };
}

/** Backends whose batch INSERT waits for that lock. */
const blockedInserts = () =>
  sql<{ pid: number }>(
    `SELECT pid FROM pg_stat_activity
      WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%INSERT INTO messages%'`,
  );

async function sendAll(t: TestApp, senders: TestUser[], rooms: number[], n: number, tag: string) {
  const sockets = await Promise.all(senders.map((u) => connect(t.url, u.token)));
  const acks = await Promise.all(
    Array.from({ length: n }, (_, i) =>
      emitAck(sockets[i % sockets.length], 'sendMessage', {
        chatroomId: rooms[i % rooms.length],
        clientMsgId: `${tag}-${i}`,
        message: { type: 'text', content: `${tag} ${i}` },
      }).catch(() => null),
    ),
  );
  return acks.filter((a) => a?.ok).map((a) => a!.data as { id: string; chatroomId: number; seq: number });
}

/** Waits until every acked id is stored; returns when that happened. */
async function allStored(ids: string[], timeoutMs: number): Promise<number> {
  await eventually(
    async () =>
      (await sql<{ n: number }>('SELECT count(*)::int AS n FROM messages WHERE id = ANY($1::uuid[])', [ids]))[0].n ===
      ids.length,
    timeoutMs,
    `${ids.length} acked messages stored`,
  );
  return Date.now();
}

/** Exactly once, and each room's seqs 1..n with no hole. */
async function expectStoredOnce(rooms: number[], acked: { id: string }[]) {
  const rows = await sql<{ id: string; chatroom_id: number; seq: number }>(
    'SELECT id, chatroom_id, seq FROM messages WHERE chatroom_id = ANY($1::int[]) ORDER BY chatroom_id, seq',
    [rooms],
  );
  expect(rows).toHaveLength(acked.length);
  expect(new Set(rows.map((r) => r.id))).toEqual(new Set(acked.map((a) => a.id)));
  for (const room of rooms) {
    const seqs = rows.filter((r) => r.chatroom_id === room).map((r) => r.seq);
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i + 1));
  }
}

function waitOutput(p: ServerProcess, text: string, timeoutMs = 20_000): Promise<void> {
  return eventually(
    () => {
      if (p.proc.exitCode !== null) throw new Error(`exited: ${p.output()}`);
      return p.output().includes(text);
    },
    timeoutMs,
    `"${text}" from the worker`,
  ).then(() => undefined);
}

describe('crash recovery (e2e)', () => {
  let t: TestApp | undefined;
  let users: TestUser[];

  beforeEach(async () => {
    await resetState();
  });
  afterEach(async () => {
    closeAllSockets();
    await t?.close();
    t = undefined;
  });

  it('a worker process killed mid-INSERT: its batch is stored within 5 s of a new worker, once', async () => {
    const workers: ServerProcess[] = [];
    const startWorker = async () => {
      const w = spawnServer({ LOG_LEVEL: 'log' }, ['--worker']);
      workers.push(w);
      await waitOutput(w, 'persistence worker running');
      return w;
    };
    let lock: { release: () => Promise<void> } | undefined;
    try {
      t = await startApp({ WORKER_ENABLED: 'false', SEND_BURST: '300', SEND_RATE_PER_SEC: '300' });
      users = await Promise.all([0, 1, 2].map((i) => createUser(t!, `kw${i}`)));
      const rooms = await Promise.all([0, 1].map((i) => createRoom(t!, users[i], users)));
      const first = await startWorker();
      lock = await lockMessages();
      const acked = await sendAll(t, users, rooms, 120, 'kill');
      expect(acked).toHaveLength(120);
      const [held] = await eventually(blockedInserts, 10_000, "the worker's INSERT to wait");

      first.proc.kill('SIGKILL');
      await first.stop();
      // As if the worker's host died: its transaction never commits.
      await sql('SELECT pg_terminate_backend($1)', [held.pid]);
      await startWorker();
      const up = Date.now();
      await lock.release();
      lock = undefined;
      const done = await allStored(
        acked.map((a) => a.id),
        20_000,
      );
      console.log(
        `worker killed mid-INSERT: all ${acked.length} acked stored ${done - up} ms after the new worker was up`,
      );
      expect(done - up).toBeLessThanOrEqual(5_000);
      await sleep(1_000); // a late duplicate would show now
      await expectStoredOnce(rooms, acked);
    } finally {
      await lock?.release();
      await Promise.all(workers.map((w) => w.stop()));
    }
  }, 90_000);

  it('Redis killed and restarted from its AOF mid-batch: everything acked is stored within 5 s of Redis, once', async () => {
    const port = 7100 + (process.pid % 50) * 2;
    const dir = mkdtempSync(path.join(os.tmpdir(), 'chat-redis-'));
    let redis: ChildProcess | undefined;
    const startRedis = async () => {
      redis = spawn(
        'redis-server',
        ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', ''].concat([
          '--appendonly',
          'yes',
          '--appendfsync',
          'always',
        ]),
        { stdio: 'ignore' },
      );
      const probe = new Redis({ port, lazyConnect: true, retryStrategy: () => 50, maxRetriesPerRequest: null });
      await probe.connect().catch(() => undefined);
      await eventually(async () => (await probe.ping()) === 'PONG', 10_000, `redis-server on ${port}`);
      probe.disconnect();
      return Date.now();
    };
    const killRedis = async () => {
      const r = redis!;
      const gone = new Promise((res) => r.once('exit', res));
      r.kill('SIGKILL');
      await gone;
    };
    let lock: { release: () => Promise<void> } | undefined;
    try {
      await startRedis();
      t = await startApp({
        REDIS_URL: `redis://127.0.0.1:${port}/0`,
        SEND_BURST: '300',
        SEND_RATE_PER_SEC: '300',
      });
      users = await Promise.all([0, 1, 2].map((i) => createUser(t!, `rr${i}`)));
      const rooms = await Promise.all([0, 1].map((i) => createRoom(t!, users[i], users)));
      lock = await lockMessages();
      const acked = await sendAll(t, users, rooms, 120, 'redis');
      expect(acked).toHaveLength(120);
      await eventually(blockedInserts, 10_000, "the worker's INSERT to wait");

      await killRedis();
      // The batch in hand commits while Redis is away; the worker cannot finish the job.
      await lock.release();
      lock = undefined;
      // Away long enough for the job's lock to expire (the batch must be reclaimed, not
      // finished by its worker) and for a reconnect backoff to grow (BullMQ's: to 20 s).
      await sleep(12_000);
      const back = await startRedis();
      const done = await allStored(
        acked.map((a) => a.id),
        30_000,
      );
      console.log(`Redis restarted mid-batch: all ${acked.length} acked stored ${done - back} ms after Redis was back`);
      expect(done - back).toBeLessThanOrEqual(5_000);
      await sleep(1_000);
      await expectStoredOnce(rooms, acked);
    } finally {
      await lock?.release();
      await t?.close();
      t = undefined;
      if (redis && redis.exitCode === null) await killRedis();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 90_000);
});
