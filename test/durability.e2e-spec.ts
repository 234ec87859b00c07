import { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AppModule } from '../src/app.module';
import { getQueueToken } from '@nestjs/bullmq';
import type { Queue } from 'bullmq';
import { Queues, RedisKeys } from '../src/common/constants';
import { loadConfig } from '../src/config/load-config';
import { RedisService } from '../src/redis/redis.service';
import { testEnv } from './setup/test-env';
import { eventually, resetState, sql, startApp, TestApp } from './utils/app';
import { closeAllSockets, collect, connect, emitAck, sleep } from './utils/sockets';
import { auth, createRoom, createUser, TestUser } from './utils/users';

/** The persistence worker alone, as `npm run start:worker` runs it. */
function startWorker(): Promise<INestApplicationContext> {
  const config = loadConfig(testEnv({ HTTP_ENABLED: 'false', WORKER_ENABLED: 'true' }));
  return NestFactory.createApplicationContext(AppModule.forRoot(config), { logger: ['error'] });
}

async function sendMany(t: TestApp, u: TestUser, room: number, n: number, tag: string) {
  const s = await connect(t.url, u.token);
  const acks = await Promise.all(
    Array.from({ length: n }, (_, i) =>
      emitAck(s, 'sendMessage', {
        chatroomId: room,
        clientMsgId: `${tag}-${i}`,
        message: { type: 'text', content: `${tag} ${i}` },
      }),
    ),
  );
  expect(acks.every((a) => a.ok)).toBe(true);
  return acks.map((a) => a.data);
}

const storedCount = async (room: number) =>
  (await sql<{ n: number }>('SELECT count(*)::int AS n FROM messages WHERE chatroom_id = $1', [room]))[0].n;

describe('durability (e2e)', () => {
  let t: TestApp;
  let alice: TestUser, bob: TestUser;

  beforeAll(async () => {
    await resetState();
  });
  afterEach(async () => {
    closeAllSockets();
    await t?.close();
  });

  it('with the worker stopped, acked messages are in history at once and land exactly once when it starts', async () => {
    t = await startApp({ WORKER_ENABLED: 'false', SEND_BURST: '100' });
    [alice, bob] = await Promise.all([createUser(t, 'alice'), createUser(t, 'bob')]);
    const room = await createRoom(t, alice, [bob]);
    const sent = await sendMany(t, alice, room, 25, 'w');
    await sleep(300);
    expect(await storedCount(room)).toBe(0);

    const history = await t.http().get(`/chatrooms/${room}/messages?limit=100`).set(auth(bob));
    expect(history.body.items.map((m: any) => m.id).reverse()).toEqual(
      sent.sort((a, b) => a.seq - b.seq).map((m) => m.id),
    );

    const worker = await startWorker();
    try {
      await eventually(async () => (await storedCount(room)) === 25, 10_000, '25 rows');
      await sleep(300);
      expect(await storedCount(room)).toBe(25);
      const rows = await sql<{ seq: number }>('SELECT seq FROM messages WHERE chatroom_id = $1 ORDER BY seq', [room]);
      expect(rows.map((r) => r.seq)).toEqual(Array.from({ length: 25 }, (_, i) => i + 1));
      const after = await t.http().get(`/chatrooms/${room}/messages?limit=100`).set(auth(bob));
      expect(after.body.items).toHaveLength(25);
      // Stored messages leave the pending buffer and the id index, every one of them. Asked
      // through the worker's own client: in the cluster project that is the Redis Cluster.
      const redis = worker.get(RedisService).client;
      await eventually(async () => (await redis.zcard(RedisKeys.roomPending(room))) === 0, 5_000, 'buffer emptied');
      const ids = sent.map((m) => m.id);
      expect(await redis.hmget(RedisKeys.pendingIndex(), ...ids)).toEqual(ids.map(() => null));
    } finally {
      await worker.close();
    }
  });

  it('with inserts failing for a while, every acked message lands exactly once after recovery', async () => {
    t = await startApp({ SEND_BURST: '100' });
    const room = await createRoom(t, alice, [bob]);
    // Every INSERT into messages fails as on a read-only standby after a failover (25006), an
    // outage to wait out. (A CHECK no row passes would be a data error now: dead letters.)
    await sql(`CREATE OR REPLACE FUNCTION e2e_read_only() RETURNS trigger LANGUAGE plpgsql AS
      $$ BEGIN RAISE EXCEPTION 'read-only (e2e)' USING ERRCODE = '25006'; END $$`);
    await sql('TRUNCATE dead_letters');
    await sql('CREATE TRIGGER e2e_block_inserts BEFORE INSERT ON messages EXECUTE FUNCTION e2e_read_only()');
    try {
      const sent = await sendMany(t, alice, room, 20, 'f');
      await sleep(1500); // several failed attempts
      expect(await storedCount(room)).toBe(0);
      const history = await t.http().get(`/chatrooms/${room}/messages?limit=100`).set(auth(bob));
      expect(history.body.items).toHaveLength(20);
      await sql('DROP TRIGGER e2e_block_inserts ON messages');
      await eventually(async () => (await storedCount(room)) === 20, 20_000, '20 rows after recovery');
      const rows = await sql<{ id: string }>('SELECT id FROM messages WHERE chatroom_id = $1 ORDER BY seq', [room]);
      expect(rows.map((r) => r.id)).toEqual(sent.sort((a, b) => a.seq - b.seq).map((m) => m.id));
    } finally {
      await sql('DROP TRIGGER IF EXISTS e2e_block_inserts ON messages');
      expect(await sql('SELECT 1 FROM dead_letters')).toEqual([]); // an outage is not bad data
    }
  });

  // A message is durable once it sits in the pending buffer of a marked room: the ack does
  // not wait for the queue. When the queue add fails, the sender still gets its ack, the
  // message is stored anyway (the add is retried in the background) and a resend neither
  // shows it twice nor stores it twice.
  it('a message whose queue add failed is acked and stored once; its resend is acked without a second broadcast', async () => {
    t = await startApp({ SEND_BURST: '100' });
    const room = await createRoom(t, alice, [bob]);
    const queue = t.app.get<Queue>(getQueueToken(Queues.MessagePersist));
    const add = jest.spyOn(queue, 'add').mockRejectedValueOnce(new Error('Connection is closed.'));
    const listener = await connect(t.url, bob.token);
    await emitAck(listener, 'joinRoom', { chatroomId: room });
    // Sends only: bob's own joinRoom announcement may arrive after his join's ack (on a cluster).
    const messages = collect(listener, 'message');
    const sends = () => messages.filter((e) => e.type === 'sendMessage');
    const s = await connect(t.url, alice.token);
    const payload = { chatroomId: room, clientMsgId: 'flaky-1', message: { type: 'text', content: 'made it?' } };

    const first = await emitAck(s, 'sendMessage', payload);
    expect(first).toMatchObject({ ok: true, data: { seq: 1 } });
    await eventually(() => sends().length === 1, 5_000, 'the broadcast');
    const { id } = sends()[0].message;
    expect(first.data.id).toBe(id);
    // Nobody resent it: the background retry queued it, after the failed add.
    await eventually(async () => (await storedCount(room)) === 1, 10_000, 'one row');
    expect(add.mock.calls.length).toBeGreaterThanOrEqual(2);

    const resend = await emitAck(s, 'sendMessage', payload);
    expect(resend).toMatchObject({ ok: true, data: { id, seq: 1 } });
    await sleep(300);
    expect(sends()).toHaveLength(1);
    expect(await sql('SELECT id FROM messages WHERE chatroom_id = $1', [room])).toEqual([{ id }]);
  });

  it('the room columns every job updates are in no index, so those updates stay HOT (no index writes)', async () => {
    // MessageWriteRepository.insertBatch moves last_seq and last_message_at of each stored room
    // per job; an index on either makes every such update write all of chatrooms' indexes.
    const indexes = await sql<{ indexdef: string }>(
      "SELECT indexdef FROM pg_indexes WHERE schemaname = current_schema() AND tablename = 'chatrooms'",
    );
    expect(indexes.length).toBeGreaterThan(0);
    for (const { indexdef } of indexes) expect(indexdef).not.toMatch(/last_seq|last_message_at/);
  });

  it('a lost seq counter is re-seeded from the stored maximum, never reused', async () => {
    t = await startApp({ SEND_BURST: '100' });
    const room = await createRoom(t, alice, [bob]);
    await sendMany(t, alice, room, 5, 's1');
    await eventually(async () => (await storedCount(room)) === 5, 10_000, '5 rows');
    // The app's own client: in the cluster project that is the Redis Cluster, not REDIS_URL.
    expect(await t.app.get(RedisService).client.del(RedisKeys.roomSeq(room))).toBe(1);
    const [next] = await sendMany(t, alice, room, 1, 's2');
    expect(next.seq).toBe(6);
  });

  it('on shutdown, in-flight sends are acked and stored', async () => {
    t = await startApp({ SEND_BURST: '200' });
    const room = await createRoom(t, alice, [bob]);
    const s = await connect(t.url, alice.token);
    const inflight = Array.from({ length: 50 }, (_, i) =>
      emitAck(s, 'sendMessage', { chatroomId: room, message: { type: 'text', content: `bye ${i}` } }).catch(() => null),
    );
    await sleep(20);
    await t.close();
    t = undefined as unknown as TestApp;
    const acked = (await Promise.all(inflight)).filter((a) => a?.ok).map((a) => a!.data.id);
    const worker = await startWorker();
    try {
      await eventually(async () => (await storedCount(room)) >= acked.length, 10_000, 'acked rows');
      const rows = await sql<{ id: string }>('SELECT id FROM messages WHERE chatroom_id = $1', [room]);
      const stored = new Set(rows.map((r) => r.id));
      expect(acked.filter((id) => !stored.has(id))).toEqual([]);
    } finally {
      await worker.close();
    }
  });
});
