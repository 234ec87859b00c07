import calculateSlot from 'cluster-key-slot';
import { Cluster } from 'ioredis';
import { RedisKeys } from '../src/common/constants';
import { RedisService } from '../src/redis/redis.service';
import { testRedisClusterNodes } from './setup/test-env';
import { eventually, resetState, sql, startApp, TestApp } from './utils/app';
import { closeAllSockets, collect, connect, emitAck } from './utils/sockets';
import { auth, createRoom, createUser, TestUser } from './utils/users';

/**
 * Runs in the e2e-cluster project only (jest.config.js): the app on the local 3-master Redis
 * Cluster that project starts. The other suites of that project show the real-time path
 * works there; this one shows it really is the cluster, with room keys spread over the
 * masters and every key of a room in one slot.
 */
describe('on a Redis Cluster (e2e)', () => {
  let t: TestApp;
  let alice: TestUser, bob: TestUser;
  const rooms: number[] = [];

  beforeAll(async () => {
    await resetState();
    t = await startApp({ SEND_BURST: '200' });
    [alice, bob] = await Promise.all(['alice', 'bob'].map((n) => createUser(t, n)));
    for (let i = 0; i < 12; i++) rooms.push(await createRoom(t, alice, [bob], `spread-${i}`));
  });
  afterAll(async () => {
    closeAllSockets();
    await t.close();
  });

  it('is configured from REDIS_CLUSTER_NODES, not REDIS_URL', () => {
    expect(testRedisClusterNodes()).toMatch(/^127\.0\.0\.1:\d+(,127\.0\.0\.1:\d+){2}$/);
    const redis = t.app.get(RedisService);
    expect(redis.isCluster).toBe(true);
    expect(redis.client).toBeInstanceOf(Cluster);
    expect(redis.masters()).toHaveLength(3);
  });

  it('sends, dedupes, syncs and stores across rooms on different masters', async () => {
    const a = await connect(t.url, alice.token);
    const b = await connect(t.url, bob.token);
    for (const room of rooms) {
      expect((await emitAck(b, 'joinRoom', { chatroomId: room })).ok).toBe(true);
    }
    const got = collect(b, 'message');
    const acks = [];
    for (const [i, room] of rooms.entries()) {
      const payload = { chatroomId: room, clientMsgId: `c-${i}`, message: { type: 'text', content: `hi ${i}` } };
      const ack = await emitAck(a, 'sendMessage', payload);
      expect(ack).toMatchObject({ ok: true, data: { chatroomId: room, seq: 1 } });
      // A resend: the same message, nothing broadcast.
      expect((await emitAck(a, 'sendMessage', payload)).data.id).toBe(ack.data.id);
      acks.push(ack);
    }
    await eventually(() => got.filter((m) => m.type === 'sendMessage').length === rooms.length, 5_000, 'broadcasts');
    expect(got.filter((m) => m.type === 'sendMessage')).toHaveLength(rooms.length);

    const sync = await emitAck(b, 'sync', { rooms: rooms.map((chatroomId) => ({ chatroomId, afterSeq: 0 })) });
    expect(sync.data.rooms.map((r: any) => r.messages.map((m: any) => m.id))).toEqual(acks.map((a) => [a.data.id]));

    await eventually(
      async () => (await sql('SELECT 1 FROM messages')).length === rooms.length,
      10_000,
      'every message stored',
    );

    // Unread counts: read with plain commands on a cluster (UnreadCache.snapshotOnCluster),
    // counted once, then served from the cache while nothing changed.
    const unread = async () => (await t.http().get('/inbox').set(auth(bob))).body;
    for (let round = 0; round < 2; round++) {
      const inbox = await unread();
      expect(inbox.totalUnread).toBe(rooms.length);
      expect(inbox.rooms.map((r: any) => r.unreadCount)).toEqual(rooms.map(() => 1));
    }
    const read = await emitAck(b, 'markRead', { chatroomId: rooms[0], seq: 1 });
    expect(read.data).toMatchObject({ chatroomId: rooms[0], unreadCount: 0, totalUnread: rooms.length - 1 });
    expect((await unread()).totalUnread).toBe(rooms.length - 1);

    // The rooms' counters live on more than one master, and each room's keys share a slot.
    const redis = t.app.get(RedisService).client as Cluster;
    const holders = new Set<string>();
    for (const room of rooms) {
      const [seqSlot, pendingSlot, dedupeSlot] = [
        RedisKeys.roomSeq(room),
        RedisKeys.roomPending(room),
        RedisKeys.clientMsg(room, alice.id, 'c-0'),
      ].map((k) => calculateSlot(k));
      expect(new Set([seqSlot, pendingSlot, dedupeSlot]).size).toBe(1);
      holders.add(redis.slots[seqSlot].join());
    }
    expect(holders.size).toBeGreaterThan(1);
  });
});
