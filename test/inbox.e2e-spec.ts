import Redis from 'ioredis';
import { RedisKeys } from '../src/common/constants';
import { MAX_AGE_S } from '../src/inbox/unread-cache';
import { TEST_REDIS_URL } from './setup/test-env';
import { eventually, resetState, sql, startApp, TestApp } from './utils/app';
import { closeAllSockets, collect, connect, emitAck, waitFor } from './utils/sockets';
import { auth, createRoom, createUser, TestUser } from './utils/users';

describe('inbox and read state (e2e)', () => {
  let t: TestApp;
  let alice: TestUser, bob: TestUser, carol: TestUser, eve: TestUser;
  let room1: number, room2: number;
  const sent: Record<string, any[]> = { room1: [], room2: [] };

  async function say(u: TestUser, room: number, n: number, key: string) {
    const s = await connect(t.url, u.token);
    for (let i = 0; i < n; i++) {
      const ack = await emitAck(s, 'sendMessage', {
        chatroomId: room,
        message: { type: 'text', content: `${u.username} ${i}` },
      });
      sent[key].push(ack.data);
    }
    s.disconnect();
  }
  const inbox = (u = bob) => t.http().get('/inbox').set(auth(u));
  const unreadOf = (body: any, room: number) => body.rooms.find((r: any) => r.chatroomId === room)?.unreadCount;

  beforeAll(async () => {
    await resetState();
    t = await startApp({ SEND_BURST: '100' });
    [alice, bob, carol, eve] = await Promise.all(['alice', 'bob', 'carol', 'eve'].map((n) => createUser(t, n)));
    room1 = await createRoom(t, alice, [bob, carol], 'one');
    room2 = await createRoom(t, alice, [bob], 'two');
    // Bob is offline throughout: nobody of his is connected while these arrive.
    await say(alice, room1, 5, 'room1');
    await say(carol, room1, 3, 'room1');
    await say(alice, room2, 4, 'room2');
  });
  afterEach(() => closeAllSockets());
  afterAll(() => t.close());

  it.each([
    ['get', '/inbox'],
    ['get', '/inbox/messages'],
    ['post', '/inbox/read'],
    ['delete', '/inbox/messages'],
  ])('%s %s should require authentication', async (method, path) => {
    expect((await (t.http() as any)[method](path)).status).toBe(401);
  });

  it('counts what arrived while offline, newest activity first', async () => {
    const res = await inbox();
    expect(res.status).toBe(200);
    expect(res.body.totalUnread).toBe(12);
    expect(res.body.rooms.map((r: any) => [r.chatroomId, r.unreadCount])).toEqual([
      [room2, 4],
      [room1, 8],
    ]);
    expect(res.body.rooms[0]).toMatchObject({
      name: 'two',
      type: 'group',
      readSeq: 0,
      lastSeq: 4,
      lastMessage: { seq: 4 },
    });
  });

  it("never counts one's own messages", async () => {
    await eventually(async () => (await sql('SELECT 1 FROM messages')).length === 12, 10_000, 'stored');
    const res = await inbox(alice);
    expect(res.body.totalUnread).toBe(3); // carol's three in room1
  });

  it('GET /inbox/messages?unread=true lists exactly the unread ones, newest first', async () => {
    const res = await t.http().get('/inbox/messages?unread=true&limit=200').set(auth(bob));
    expect(res.status).toBe(200);
    const expected = [...sent.room1, ...sent.room2]
      .map((m) => m.id)
      .sort()
      .reverse();
    expect(res.body.items.map((m: any) => m.id)).toEqual(expected);
    expect(res.body.items.every((m: any) => m.read === false)).toBe(true);
    expect(res.body.hasMore).toBe(false);
  });

  it('pages with a cursor and filters by room', async () => {
    const first = await t.http().get(`/inbox/messages?chatroomId=${room1}&limit=5`).set(auth(bob));
    expect(first.body.items).toHaveLength(5);
    expect(first.body.hasMore).toBe(true);
    const second = await t
      .http()
      .get(`/inbox/messages?chatroomId=${room1}&limit=5&cursor=${first.body.nextCursor}`)
      .set(auth(bob));
    const ids = [...first.body.items, ...second.body.items].map((m: any) => m.id);
    expect(ids).toEqual(
      sent.room1
        .map((m) => m.id)
        .sort()
        .reverse(),
    );
    expect((await t.http().get(`/inbox/messages?chatroomId=${room1}`).set(auth(eve))).status).toBe(404);
  });

  it('validates POST /inbox/read', async () => {
    const both = await t
      .http()
      .post('/inbox/read')
      .set(auth(bob))
      .send({ chatroomId: room1, seq: 1, messageIds: [sent.room1[0].id] });
    expect(both.status).toBe(400);
    expect((await t.http().post('/inbox/read').set(auth(bob)).send({})).status).toBe(400);
    const unknown = await t
      .http()
      .post('/inbox/read')
      .set(auth(bob))
      .send({ messageIds: ['00000000-0000-7000-8000-000000000000'] });
    expect(unknown.status).toBe(404);
    expect((await t.http().post('/inbox/read').set(auth(eve)).send({ chatroomId: room1, seq: 2 })).status).toBe(404);
  });

  it('marks by position; the room sees `read`, my other device sees `inbox`', async () => {
    const otherDevice = await connect(t.url, bob.token);
    const watcher = await connect(t.url, alice.token);
    await emitAck(watcher, 'joinRoom', { chatroomId: room1 });
    const readEvent = waitFor(watcher, 'read');
    // (An earlier `inbox` may still arrive for the messages sent in beforeAll: wait for this read's.)
    const inboxEvent = waitFor(otherDevice, 'inbox', (e: any) => e.chatroomId === room1 && e.unreadCount === 5);
    const res = await t.http().post('/inbox/read').set(auth(bob)).send({ chatroomId: room1, seq: 3 });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ totalUnread: 9, rooms: [{ chatroomId: room1, unreadCount: 5, readSeq: 3 }] });
    expect(await readEvent).toEqual({ chatroomId: room1, userId: bob.id, seq: 3 });
    expect(await inboxEvent).toEqual({
      chatroomId: room1,
      unreadCount: 5,
      totalUnread: 9,
      version: expect.any(Number),
    });
  });

  it('never moves the position back, and clamps it to the last seq', async () => {
    const back = await t.http().post('/inbox/read').set(auth(bob)).send({ chatroomId: room1, seq: 1 });
    expect(back.body.rooms[0].readSeq).toBe(3);
    const other = await t.http().post('/inbox/read').set(auth(carol)).send({ chatroomId: room1, seq: 999 });
    expect(other.body.rooms[0]).toMatchObject({ chatroomId: room1, readSeq: 8, unreadCount: 0 });
  });

  // Redis without persistence loses the seq counters on a restart; until the room's next
  // message re-seeds it, the stored last seq is the bound (it once clamped to 0 instead).
  it('marks by position after Redis lost the room counter', async () => {
    const dave = await createUser(t, 'dave');
    const room = await createRoom(t, alice, [dave], 'lost-counter');
    const s = await connect(t.url, alice.token);
    for (let i = 0; i < 4; i++)
      await emitAck(s, 'sendMessage', { chatroomId: room, message: { type: 'text', content: `m${i}` } });
    await eventually(
      async () => (await sql('SELECT last_seq FROM chatrooms WHERE id = $1', [room]))[0].last_seq === 4,
      10_000,
      'stored',
    );
    const redis = new Redis(TEST_REDIS_URL);
    try {
      expect(await redis.del(RedisKeys.roomSeq(room))).toBe(1);
    } finally {
      redis.disconnect();
    }
    const res = await t.http().post('/inbox/read').set(auth(dave)).send({ chatroomId: room, seq: 3 });
    expect(res.body.rooms).toEqual([{ chatroomId: room, readSeq: 3, unreadCount: 1 }]);
    const all = await t.http().post('/inbox/read').set(auth(dave)).send({ chatroomId: room, seq: 99 });
    expect(all.body.rooms).toEqual([{ chatroomId: room, readSeq: 4, unreadCount: 0 }]);
  });

  it('marks by ids, out of order', async () => {
    const third = sent.room2[2];
    const res = await t
      .http()
      .post('/inbox/read')
      .set(auth(bob))
      .send({ messageIds: [third.id] });
    expect(res.body).toEqual({ totalUnread: 8, rooms: [{ chatroomId: room2, unreadCount: 3, readSeq: 0 }] });
    expect((await t.http().get(`/inbox/messages/${third.id}`).set(auth(bob))).body.read).toBe(true);
    expect((await t.http().get(`/inbox/messages/${sent.room2[3].id}`).set(auth(bob))).body.read).toBe(false);
    const unread = await t.http().get(`/inbox/messages?unread=true&chatroomId=${room2}`).set(auth(bob));
    expect(unread.body.items.map((m: any) => m.seq)).toEqual([4, 2, 1]);
  });

  it('hide-for-me removes the message from my inbox and unread count only', async () => {
    const target = sent.room1[6]; // carol's second, unread for bob
    expect((await t.http().delete(`/inbox/messages/${target.id}`).set(auth(bob))).status).toBe(204);
    expect(unreadOf((await inbox()).body, room1)).toBe(4);
    expect((await t.http().get(`/inbox/messages/${target.id}`).set(auth(bob))).status).toBe(404);
    const list = await t.http().get(`/inbox/messages?chatroomId=${room1}&limit=200`).set(auth(bob));
    expect(list.body.items.map((m: any) => m.id)).not.toContain(target.id);
    // Everyone else still has it.
    expect((await t.http().get(`/inbox/messages/${target.id}`).set(auth(alice))).status).toBe(200);
    const history = await t.http().get(`/chatrooms/${room1}/messages`).set(auth(alice));
    expect(history.body.items.map((m: any) => m.id)).toContain(target.id);
  });

  it('hides in batches; an unknown id changes nothing', async () => {
    const ids = [sent.room2[0].id, sent.room2[1].id];
    const bad = await t
      .http()
      .delete('/inbox/messages')
      .set(auth(bob))
      .send({ ids: [...ids, '00000000-0000-7000-8000-000000000000'] });
    expect(bad.status).toBe(404);
    expect(unreadOf((await inbox()).body, room2)).toBe(3);
    const ok = await t.http().delete('/inbox/messages').set(auth(bob)).send({ ids });
    expect(ok.status).toBe(200);
    expect(ok.body).toEqual({ hidden: ids });
    expect(unreadOf((await inbox()).body, room2)).toBe(1);
  });

  it('markRead over the socket answers with the new counts', async () => {
    const s = await connect(t.url, bob.token);
    const ack = await emitAck(s, 'markRead', { chatroomId: room2, seq: 4 });
    expect(ack).toEqual({ ok: true, data: { chatroomId: room2, readSeq: 4, unreadCount: 0, totalUnread: 4 } });
    expect((await emitAck(s, 'markRead', { chatroomId: room2, seq: 'x' })).error?.code).toBe('VALIDATION_FAILED');
  });

  it('a retracted message stops counting as unread', async () => {
    const before = unreadOf((await inbox()).body, room1);
    const del = await t.http().delete(`/messages/${sent.room1[7].id}`).set(auth(carol));
    expect(del.status).toBe(204);
    expect(unreadOf((await inbox()).body, room1)).toBe(before - 1);
  });

  // Counts are cached per member and room (UnreadCache). Before each change a wrong count
  // (99) is planted in the cache under the current inputs: the next read must show the true
  // count, which proves the change invalidated the entry (and not that nothing was cached).
  it('cached counts follow every kind of change', async () => {
    const dave = await createUser(t, 'dave');
    const admin = await createUser(t, 'admin');
    await sql("UPDATE users SET role = 'admin' WHERE id = $1", [admin.id]);
    const room = await createRoom(t, alice, [dave], 'cache');
    const quiet = await createRoom(t, alice, [dave], 'quiet');
    const msgs: any[] = [];
    const s = await connect(t.url, alice.token);
    const send = async (chatroomId: number) => {
      const ack = await emitAck(s, 'sendMessage', { chatroomId, message: { type: 'text', content: 'x' } });
      msgs.push(ack.data);
      return ack.data;
    };
    for (let i = 0; i < 6; i++) await send(room);
    await send(quiet);
    const counts = async () => {
      const body = (await inbox(dave)).body;
      return [unreadOf(body, room), unreadOf(body, quiet), body.totalUnread];
    };
    const redis = new Redis(TEST_REDIS_URL);
    const key = RedisKeys.unreadCounts(dave.id);
    /** Rewrites the cached count of `room` (entry: lastSeq:readSeq:roomToken:memberToken:count:at). */
    const plant = async (n: number) => {
      const entry = await redis.hget(key, String(room));
      expect(entry).toMatch(/^\d+:\d+:[\w-]*:[\w-]*:\d+:\d+$/);
      const f = entry!.split(':');
      f[4] = String(n);
      await redis.hset(key, String(room), f.join(':'));
    };
    try {
      expect(await counts()).toEqual([6, 1, 7]);
      await plant(99);
      expect(await counts()).toEqual([99, 1, 100]); // served from the cache

      await plant(99);
      await send(room); // a new message
      expect(await counts()).toEqual([7, 1, 8]);
      await plant(99);
      expect((await t.http().delete(`/messages/${msgs[0].id}`).set(auth(alice))).status).toBe(204); // retraction
      expect(await counts()).toEqual([6, 1, 7]);
      await plant(99);
      expect((await t.http().delete(`/admin/messages/${msgs[1].id}`).set(auth(admin))).status).toBe(204); // moderation
      expect(await counts()).toEqual([5, 1, 6]);
      await plant(99);
      expect((await t.http().delete(`/inbox/messages/${msgs[4].id}`).set(auth(dave))).status).toBe(204); // hide
      expect(await counts()).toEqual([4, 1, 5]);
      await plant(99);
      const byId = await t
        .http()
        .post('/inbox/read')
        .set(auth(dave))
        .send({ messageIds: [msgs[3].id] }); // out of order
      expect(byId.body.totalUnread).toBe(4);
      expect(await counts()).toEqual([3, 1, 4]);
      await plant(99);
      const byPos = await t.http().post('/inbox/read').set(auth(dave)).send({ chatroomId: room, seq: 3 }); // position
      expect(byPos.body).toEqual({ totalUnread: 3, rooms: [{ chatroomId: room, unreadCount: 2, readSeq: 3 }] });
      expect(await counts()).toEqual([2, 1, 3]);
      // An entry older than the maximum age is recounted even when its inputs match.
      await plant(99);
      const aged = (await redis.hget(key, String(room)))!.split(':');
      aged[5] = String(Number(aged[5]) - MAX_AGE_S);
      await redis.hset(key, String(room), aged.join(':'));
      expect(await counts()).toEqual([2, 1, 3]);
      // The other member's cache is their own: alice never had anything unread here.
      const mine = (await inbox(alice)).body;
      expect([unreadOf(mine, room), unreadOf(mine, quiet)]).toEqual([0, 0]);
      // Losing the cache (a Redis restart without persistence) loses no correctness.
      const keys = await redis.keys(RedisKeys.unreadCounts(0).replace(/0$/, '*'));
      expect(keys).toContain(key);
      await redis.del(...keys);
      expect(await counts()).toEqual([2, 1, 3]);
    } finally {
      redis.disconnect();
    }
  });

  it('a new message sends `inbox` to members online outside the room, not to sockets in it', async () => {
    const outside = await connect(t.url, bob.token);
    const inside = await connect(t.url, bob.token);
    await emitAck(inside, 'joinRoom', { chatroomId: room2 });
    const insideInbox = collect(inside, 'inbox');
    const before = (await inbox()).body;
    // The notifier coalesces a window of sends; on a slow machine the two may fall in two windows.
    const badge = waitFor(
      outside,
      'inbox',
      (e: any) => e.chatroomId === room2 && e.unreadCount === unreadOf(before, room2) + 2,
    );
    await say(alice, room2, 2, 'room2');
    expect(await badge).toEqual({
      chatroomId: room2,
      unreadCount: unreadOf(before, room2) + 2,
      totalUnread: before.totalUnread + 2,
      version: expect.any(Number),
    });
    await new Promise((r) => setTimeout(r, 400));
    expect(insideInbox).toEqual([]);
  });

  it('a member added after the room was busy gets `inbox` at once; a removed one no more', async () => {
    const room = await createRoom(t, alice, [bob], 'members');
    const bobOutside = collect(await connect(t.url, bob.token), 'inbox');
    const eveOutside = collect(await connect(t.url, eve.token), 'inbox');
    const sender = await connect(t.url, alice.token);
    const say = (content: string) =>
      emitAck(sender, 'sendMessage', { chatroomId: room, message: { type: 'text', content } });
    await say('to bob'); // the notifier reads the room's members, and keeps them
    await eventually(() => bobOutside.some((e) => e.chatroomId === room), 5000, 'bob to get a badge');
    const added = await t
      .http()
      .post(`/chatrooms/${room}/members`)
      .set(auth(alice))
      .send({ userIds: [eve.id] });
    expect(added.status).toBe(200);
    await say('to bob and eve');
    await eventually(() => eveOutside.some((e) => e.chatroomId === room), 5000, 'eve to get a badge');
    expect((await t.http().delete(`/chatrooms/${room}/members/${bob.id}`).set(auth(alice))).status).toBe(204);
    const [bobBefore, eveBefore] = [bobOutside.length, eveOutside.length];
    await say('to eve only');
    await eventually(() => eveOutside.length > eveBefore, 5000, 'eve to get the next badge');
    await new Promise((r) => setTimeout(r, 500));
    expect(bobOutside.length).toBe(bobBefore);
  });

  it('counts messages still in the queue too (read your writes)', async () => {
    await say(carol, room1, 2, 'room1');
    const res = await inbox();
    expect(unreadOf(res.body, room1)).toBeGreaterThanOrEqual(2);
    const list = await t.http().get(`/inbox/messages?chatroomId=${room1}&limit=2`).set(auth(bob));
    expect(list.body.items.map((m: any) => m.id)).toEqual(
      sent.room1
        .slice(-2)
        .map((m) => m.id)
        .reverse(),
    );
  });
});

// The worker stores a batch as it was sent and re-applies retractions recorded while it was
// queued right after the insert; only then does it drop the pending entries. Each moment of
// that sequence is recreated here by hand (the worker is off), with the cache dropped before
// every read so that the count is computed in exactly that state.
describe('unread counts while the worker stores a retracted message (e2e)', () => {
  let t: TestApp;
  let alice: TestUser, bob: TestUser;
  const redis = new Redis(TEST_REDIS_URL);

  beforeAll(async () => {
    await resetState();
    t = await startApp({ WORKER_ENABLED: 'false' });
    [alice, bob] = await Promise.all(['alice', 'bob'].map((n) => createUser(t, n)));
  });
  afterEach(() => closeAllSockets());
  afterAll(async () => {
    redis.disconnect();
    await t.close();
  });

  it('never counts the tombstone, in any state between queue and table', async () => {
    const room = await createRoom(t, alice, [bob], 'queued');
    const s = await connect(t.url, alice.token);
    const sent = [];
    for (const content of ['first', 'second'])
      sent.push((await emitAck(s, 'sendMessage', { chatroomId: room, message: { type: 'text', content } })).data);
    const unread = async () => {
      await redis.del(RedisKeys.unreadCounts(bob.id));
      const body = (await t.http().get('/inbox').set(auth(bob))).body;
      return body.rooms.find((r: any) => r.chatroomId === room).unreadCount;
    };
    expect(await unread()).toBe(2);
    expect((await t.http().delete(`/messages/${sent[0].id}`).set(auth(alice))).status).toBe(204);
    expect(await unread()).toBe(1); // queued: the pending entry is the tombstone

    // The worker's insert: rows as they were sent (live), the room's stored last seq moves.
    for (const m of sent) {
      await sql(
        `INSERT INTO messages (id, chatroom_id, seq, sender_id, type, content, created_at)
         VALUES ($1, $2, $3, $4, 'text', $5, $6)`,
        [m.id, room, m.seq, alice.id, m.content, m.createdAt],
      );
    }
    await sql('UPDATE chatrooms SET last_seq = 2 WHERE id = $1', [room]);
    expect(await unread()).toBe(1); // stored but not yet re-applied: the pending entry still says so

    // The worker re-applies the retraction, then drops the pending entries.
    await sql("UPDATE messages SET deleted_at = now(), content = '' WHERE id = $1", [sent[0].id]);
    expect(await unread()).toBe(1);
    await redis.del(RedisKeys.roomPending(room));
    expect(await unread()).toBe(1); // only the table now
  });
});
