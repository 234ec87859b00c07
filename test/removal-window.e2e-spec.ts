import type { Socket } from 'socket.io-client';
import { ChatService } from '../src/chat/chat.service';
import { MembershipService, REMOVAL_WINDOW_MS } from '../src/chatrooms/membership.service';
import { RedisKeys } from '../src/common/constants';
import { RedisService } from '../src/redis/redis.service';
import { eventually, resetState, sql, startApp, TestApp } from './utils/app';
import { closeAllSockets, connect, emitAck } from './utils/sockets';
import { auth, createRoom, createUser, TestUser } from './utils/users';

const send = (chatroomId: number, content: string, clientMsgId?: string) => ({
  chatroomId,
  message: { type: 'text', content },
  ...(clientMsgId ? { clientMsgId } : {}),
});

/**
 * A removal holds on every instance from the moment it answers, not from when its relay
 * reaches the others: two instances on one database and Redis, the removed user's socket on
 * b, b's cached "member" answer warmed by a first send, the removal asked of a. b never hears
 * the relay here (its handler is a no-op), so its cache says "member" for its whole TTL: the
 * append script must refuse the send by itself (the room's removed set). Before it did, such
 * sends were acked and stored for a few ms after the answer, or up to the cache's TTL when a
 * relay was lost.
 */
describe('removal window (e2e, two instances)', () => {
  let a: TestApp, b: TestApp;
  let owner: TestUser, u: TestUser, stranger: TestUser;
  /** Relayed evictions b received and dropped. */
  const dropped: { userId?: number; chatroomId: number }[] = [];

  beforeAll(async () => {
    await resetState();
    [a, b] = await Promise.all([startApp(), startApp()]);
    [owner, u, stranger] = await Promise.all(['owner', 'member', 'stranger'].map((n) => createUser(a, n)));
    // The relay's handler on b (Broadcaster.onPeerEviction → ChatService.forgetMembership),
    // dropped: b's cache keeps whatever it holds. ChatService's own eviction after a refusal
    // does not go through it.
    b.app.get(ChatService).forgetMembership = (userId, chatroomId) => void dropped.push({ userId, chatroomId });
  });
  afterEach(() => closeAllSockets());
  afterAll(async () => {
    await Promise.all([a?.close(), b?.close()]);
  });

  /** Whether b's membership cache answers "member" without asking PostgreSQL (which says no). */
  const cachedOnB = (chatroomId: number) => {
    const m = b.app.get(MembershipService);
    const at = (m as unknown as { cache: Map<string, number> }).cache.get(`${u.id}:${chatroomId}`);
    return at !== undefined && at > Date.now();
  };

  /** The room's messages as a member reads them (the pending buffer merged), oldest first. */
  const history = async (chatroomId: number) => {
    const res = await a.http().get(`/chatrooms/${chatroomId}/messages?limit=100`).set(auth(owner));
    expect(res.status).toBe(200);
    // Newest first: put back in seq order.
    const items = res.body.items as { seq: number; content: string }[];
    return items.sort((x, y) => x.seq - y.seq).map((m) => m.content);
  };

  /** A room of owner and u, u on b with b's cache warmed by a first send (acked). */
  async function warmRoom(firstClientMsgId?: string): Promise<{ room: number; s: Socket; first: unknown }> {
    const room = await createRoom(a, owner, [u]);
    const s = await connect(b.url, u.token);
    const first = await emitAck(s, 'sendMessage', send(room, 'before the removal', firstClientMsgId));
    expect(first).toMatchObject({ ok: true });
    expect(cachedOnB(room)).toBe(true);
    return { room, s, first };
  }

  const remove = async (room: number, by: TestUser = owner) => {
    const res = await a.http().delete(`/chatrooms/${room}/members/${u.id}`).set(auth(by));
    expect(res.status).toBe(204);
  };

  /** What a non-member's send gets on b: the removed user's must be the very same. */
  async function nonMemberRefusal(room: number) {
    const s = await connect(b.url, stranger.token);
    const ack = await emitAck(s, 'sendMessage', send(room, 'not mine'));
    expect(ack).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
    return ack;
  }

  it("refuses the removed user's send on another instance as soon as the removal answers, its cache notwithstanding", async () => {
    const { room, s } = await warmRoom();
    await remove(room);
    // At once, on b, whose cache still says "member".
    expect(cachedOnB(room)).toBe(true);
    const now = await emitAck(s, 'sendMessage', send(room, 'right after the answer'));
    expect(now).toEqual(await nonMemberRefusal(room));
    // The relay reached b and was dropped: b still has no other way to know.
    await eventually(() => dropped.some((d) => d.userId === u.id && d.chatroomId === room), 5000, 'the relay');
    const later = await emitAck(s, 'sendMessage', send(room, 'after the relay'));
    expect(later).toEqual(now);

    expect(await history(room)).toEqual(['before the removal']);
    await eventually(async () => (await sql('SELECT 1 FROM messages WHERE chatroom_id = $1', [room])).length === 1);
    await new Promise((r) => setTimeout(r, 200));
    const rows = await sql<{ content: string }>('SELECT content FROM messages WHERE chatroom_id = $1', [room]);
    expect(rows.map((r) => r.content)).toEqual(['before the removal']);
    // Kept no longer than the window.
    const ttl = await b.app.get(RedisService).client.pttl(RedisKeys.roomRemoved(room));
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(REMOVAL_WINDOW_MS);
  });

  it('refuses a leave the same way (the user removing themselves)', async () => {
    const { room, s } = await warmRoom();
    await remove(room, u);
    expect(cachedOnB(room)).toBe(true);
    expect(await emitAck(s, 'sendMessage', send(room, 'after leaving'))).toMatchObject({
      ok: false,
      error: { code: 'NOT_FOUND' },
    });
    expect(await history(room)).toEqual(['before the removal']);
  });

  it('refuses a resend of a clientMsgId acked before the removal too; the first message stays, once', async () => {
    const { room, s, first } = await warmRoom('pre-removal');
    expect(await emitAck(s, 'sendMessage', send(room, 'before the removal', 'pre-removal'))).toEqual(first);
    await remove(room);
    expect(cachedOnB(room)).toBe(true);
    const resend = await emitAck(s, 'sendMessage', send(room, 'before the removal', 'pre-removal'));
    expect(resend).toEqual(await nonMemberRefusal(room));
    expect(await history(room)).toEqual(['before the removal']);
  });

  it("refuses the removed user's sync of what was said after the removal, and answers a sync with nothing new", async () => {
    const { room, s } = await warmRoom();
    const joined = await emitAck(s, 'joinRoom', { chatroomId: room });
    expect(joined).toMatchObject({ ok: true });
    const lastSeq = (joined as { data: { lastSeq: number } }).data.lastSeq;
    await remove(room);
    // Nothing new: answered from the cache, as a reconnect storm's syncs are (no query).
    expect(await emitAck(s, 'sync', { rooms: [{ chatroomId: room, afterSeq: lastSeq }] })).toMatchObject({
      ok: true,
      data: { rooms: [{ chatroomId: room, messages: [], lastSeq }] },
    });
    const o = await connect(a.url, owner.token);
    expect(await emitAck(o, 'sendMessage', send(room, 'said after the removal'))).toMatchObject({ ok: true });
    expect(cachedOnB(room)).toBe(true);
    const sync = await emitAck(s, 'sync', { rooms: [{ chatroomId: room, afterSeq: 0 }] });
    expect(sync).toMatchObject({
      ok: false,
      error: { code: 'NOT_FOUND', details: [{ field: 'rooms[0].chatroomId', errors: [expect.any(String)] }] },
    });
    expect(JSON.stringify(sync)).not.toContain('said after the removal');
  });

  it('lets a user added back send at once, on an instance that heard of neither change', async () => {
    const { room, s } = await warmRoom();
    await remove(room);
    expect(await emitAck(s, 'sendMessage', send(room, 'while removed'))).toMatchObject({ ok: false });
    const added = await a
      .http()
      .post(`/chatrooms/${room}/members`)
      .set(auth(owner))
      .send({ userIds: [u.id] });
    expect(added.status).toBe(200);
    const back = await emitAck(s, 'sendMessage', send(room, 'added back'));
    expect(back).toMatchObject({ ok: true, data: { content: 'added back', senderId: u.id } });
    expect(await history(room)).toEqual(['before the removal', 'added back']);
    expect(await b.app.get(RedisService).client.zscore(RedisKeys.roomRemoved(room), String(u.id))).toBeNull();
  });
});
