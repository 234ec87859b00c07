import { spawnSync } from 'node:child_process';
import path from 'node:path';
import Redis from 'ioredis';
import { Client } from 'pg';
import { keyNamespace, RedisKeys } from '../src/common/constants';
import { TEST_DATABASE_URL, TEST_REDIS_URL } from './setup/test-env';
import { eventually, startApp, TestApp } from './utils/app';
import { closeAllSockets, collect, connect, emitAck, sleep } from './utils/sockets';
import { createRoom, createUser, TestUser } from './utils/users';

/** A database of this suite's own, dropped and recreated while Redis keeps its keys. */
const url = new URL(TEST_DATABASE_URL);
const DB = `${url.pathname.slice(1).replace(/_test$/, '')}_dbid_test`;
url.pathname = `/${DB}`;
const DB_URL = url.toString();

async function admin(statement: string): Promise<void> {
  const u = new URL(TEST_DATABASE_URL);
  u.pathname = '/postgres';
  const c = new Client({ connectionString: u.toString() });
  await c.connect();
  try {
    await c.query(statement);
  } finally {
    await c.end();
  }
}

/** Drops the database if it exists, creates it and applies every migration. */
function recreateDatabase(): Promise<void> {
  return admin(`DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`).then(async () => {
    await admin(`CREATE DATABASE ${DB}`);
    const res = spawnSync(process.execPath, [require.resolve('prisma/build/index.js'), 'migrate', 'deploy'], {
      cwd: path.resolve(__dirname, '..'),
      env: { ...process.env, DATABASE_URL: DB_URL },
      encoding: 'utf8',
    });
    if (res.status !== 0) throw new Error(`migrate deploy failed: ${res.stdout}\n${res.stderr}`);
  });
}

async function rows(statement: string, params: unknown[] = []) {
  const c = new Client({ connectionString: DB_URL });
  await c.connect();
  try {
    return (await c.query(statement, params)).rows;
  } finally {
    await c.end();
  }
}

/** Two users and their room; the same numeric ids each time the database starts empty. */
async function world(t: TestApp) {
  const alice = await createUser(t, 'ida');
  const bob = await createUser(t, 'idb');
  const room = await createRoom(t, alice, [bob]);
  return { alice, bob, room };
}

async function send(t: TestApp, u: TestUser, room: number, cmid: string, content: string) {
  const s = await connect(t.url, u.token);
  return emitAck(s, 'sendMessage', { chatroomId: room, clientMsgId: cmid, message: { type: 'text', content } });
}

describe('database identity in Redis names (e2e)', () => {
  let t: TestApp | undefined;

  beforeAll(async () => {
    await recreateDatabase();
  }, 60_000);
  afterEach(async () => {
    closeAllSockets();
    await t?.close();
    t = undefined;
  });
  afterAll(async () => {
    await admin(`DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`);
  });

  it('a recreated database with Redis kept: old clientMsgIds are new messages, acked, broadcast, stored, seqs from 1', async () => {
    const env = { DATABASE_URL: DB_URL, SEND_BURST: '100' };
    t = await startApp(env);
    const before = await world(t);
    const oldNamespace = keyNamespace();
    const old = [];
    for (let i = 0; i < 5; i++) old.push((await send(t, before.alice, before.room, `same-${i}`, `old ${i}`)).data);
    await eventually(async () => (await rows('SELECT 1 FROM messages')).length === 5, 10_000, 'old history stored');
    await t.close();
    t = undefined;

    await recreateDatabase(); // Redis keeps every key of the old history
    t = await startApp(env);
    expect(keyNamespace()).not.toBe(oldNamespace);
    const { alice, bob, room } = await world(t);
    expect([alice.id, bob.id, room]).toEqual([before.alice.id, before.bob.id, before.room]);
    const listener = await connect(t.url, bob.token);
    await emitAck(listener, 'joinRoom', { chatroomId: room });
    const seen = collect(listener, 'message');

    const acks = [];
    for (let i = 0; i < 5; i++) acks.push(await send(t, alice, room, `same-${i}`, `new ${i}`));
    expect(acks.map((a) => a.ok)).toEqual([true, true, true, true, true]);
    expect(acks.map((a) => a.data.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(acks.map((a) => a.data.content)).toEqual(['new 0', 'new 1', 'new 2', 'new 3', 'new 4']);
    expect(acks.map((a) => a.data.id)).not.toContain(old[0].id);
    await eventually(() => seen.length === 5, 5_000, 'five broadcasts');

    await eventually(async () => (await rows('SELECT 1 FROM messages')).length === 5, 10_000, 'new history stored');
    const stored = await rows('SELECT id::text AS id, seq, content FROM messages ORDER BY seq');
    expect(stored).toEqual(acks.map((a) => ({ id: a.data.id, seq: a.data.seq, content: a.data.content })));

    // The old history's keys are still there, under the old namespace, untouched.
    const redis = new Redis(TEST_REDIS_URL);
    try {
      expect(await redis.get(`chat:${oldNamespace}:{r:${room}}:seq`)).toBe('5');
      expect(await redis.get(RedisKeys.roomSeq(room))).toBe('5');
      expect(RedisKeys.roomSeq(room)).not.toBe(`chat:${oldNamespace}:{r:${room}}:seq`);
    } finally {
      redis.disconnect();
    }
  }, 90_000);

  it('a worker whose database changed identity under it stores nothing there until it is back', async () => {
    t = await startApp({ DATABASE_URL: DB_URL, SEND_BURST: '100' }); // with its worker
    const { alice, room } = await world(t);
    const [{ id }] = await rows('SELECT id::text AS id FROM database_identity');
    await rows('UPDATE database_identity SET id = gen_random_uuid()'); // as if recreated under it
    const ack = await send(t, alice, room, 'guarded', 'not into another history');
    expect(ack.ok).toBe(true);
    await sleep(1_500); // several attempts
    expect(await rows('SELECT 1 FROM messages WHERE id = $1', [ack.data.id])).toEqual([]);
    await rows('UPDATE database_identity SET id = $1', [id]);
    await eventually(
      async () => (await rows('SELECT 1 FROM messages WHERE id = $1', [ack.data.id])).length === 1,
      10_000,
      'stored once the identity matches',
    );
  }, 60_000);

  it('a resend must match sender and room: the same clientMsgId in another room is another message', async () => {
    t = await startApp({ DATABASE_URL: DB_URL, SEND_BURST: '100' });
    const { alice, bob, room } = await world(t);
    const other = await createRoom(t, alice, [bob]);
    const first = await send(t, alice, room, 'twice', 'hello');
    expect(first.ok).toBe(true);
    const resend = await send(t, alice, room, 'twice', 'hello');
    expect(resend).toMatchObject({ ok: true, data: { id: first.data.id, seq: first.data.seq } });
    // A clientMsgId is the sender's within one room: elsewhere it names another message.
    const elsewhere = await send(t, alice, other, 'twice', 'hello there');
    expect(elsewhere).toMatchObject({ ok: true, data: { chatroomId: other, seq: 1, content: 'hello there' } });
    expect(elsewhere.data.id).not.toBe(first.data.id);
    expect((await send(t, alice, other, 'twice', 'hello there')).data.id).toBe(elsewhere.data.id);
    // Another sender may use the same clientMsgId.
    expect((await send(t, bob, room, 'twice', 'hi')).ok).toBe(true);
    await eventually(
      async () => (await rows("SELECT 1 FROM messages WHERE client_msg_id = 'twice'")).length === 3,
      10_000,
      'all three stored',
    );
  }, 60_000);
});
