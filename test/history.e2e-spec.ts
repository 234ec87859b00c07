import { eventually, resetState, sql, startApp, TestApp } from './utils/app';
import { closeAllSockets, connect, emitAck } from './utils/sockets';
import { auth, createRoom, createUser, TestUser } from './utils/users';

describe('history REST (e2e)', () => {
  let t: TestApp;
  let alice: TestUser, bob: TestUser, eve: TestUser;
  let room: number;
  const TOTAL = 120;

  beforeAll(async () => {
    await resetState();
    t = await startApp({ SEND_RATE_PER_SEC: '1000', SEND_BURST: '1000' });
    [alice, bob, eve] = await Promise.all(['alice', 'bob', 'eve'].map((n) => createUser(t, n)));
    room = await createRoom(t, alice, [bob]);
    const s = await connect(t.url, alice.token);
    for (let i = 1; i <= TOTAL; i++) {
      await emitAck(s, 'sendMessage', { chatroomId: room, message: { type: 'text', content: `m${i}` } });
    }
    closeAllSockets();
    await eventually(async () => (await sql('SELECT 1 FROM messages'))?.length === TOTAL, 10_000, 'all stored');
  });
  afterAll(() => t.close());

  const page = (q: string, user = bob) => t.http().get(`/chatrooms/${room}/messages${q}`).set(auth(user));

  it('should require authentication', async () => {
    expect((await t.http().get(`/chatrooms/${room}/messages`)).status).toBe(401);
  });

  it('404s for a non-member', async () => {
    expect((await page('', eve)).status).toBe(404);
    expect((await t.http().get(`/chat-history/list?chatroomId=${room}`).set(auth(eve))).status).toBe(404);
  });

  it('validates the query', async () => {
    expect((await page('?limit=0')).status).toBe(400);
    expect((await page('?limit=201')).status).toBe(400);
    expect((await page('?before=abc')).status).toBe(400);
    const both = await page('?before=10&after=2');
    expect(both.status).toBe(400);
    expect(both.body.code).toBe('VALIDATION_FAILED');
  });

  it('reads only plain decimal integers from the query: 1e1, 0x10, a blank or a repeated value is refused by name', async () => {
    for (const q of ['?limit=1e1', '?limit=0x10', '?limit=', '?limit=%2010', '?limit=5&limit=6', '?before=1e1']) {
      const res = await page(q);
      expect({ q, status: res.status, code: res.body.code }).toEqual({ q, status: 400, code: 'VALIDATION_FAILED' });
      expect(res.body.details.map((d: { field: string }) => d.field)).toEqual([
        q.includes('before') ? 'before' : 'limit',
      ]);
    }
    const plain = await page('?limit=10');
    expect(plain.status).toBe(200);
    expect(plain.body.items).toHaveLength(10);
  });

  it('pages backwards, newest first, with senders', async () => {
    const seen: number[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const res = await page(`?limit=50${cursor ? `&before=${cursor}` : ''}`);
      expect(res.status).toBe(200);
      seen.push(...res.body.items.map((m: any) => m.seq));
      expect(res.body.items[0]).toMatchObject({
        chatroomId: room,
        senderId: alice.id,
        sender: { id: alice.id, username: alice.username },
      });
      cursor = res.body.hasMore ? res.body.nextCursor : undefined;
      pages++;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen).toEqual(Array.from({ length: TOTAL }, (_, i) => TOTAL - i));
  });

  it('pages forwards, oldest first', async () => {
    const seen: number[] = [];
    let after = 0;
    for (;;) {
      const res = await page(`?limit=50&after=${after}`);
      seen.push(...res.body.items.map((m: any) => m.seq));
      if (!res.body.hasMore) break;
      after = Number(res.body.nextCursor);
    }
    expect(seen).toEqual(Array.from({ length: TOTAL }, (_, i) => i + 1));
  });

  it('GET /chat-history/list returns the latest messages oldest first', async () => {
    const res = await t.http().get(`/chat-history/list?chatroomId=${room}&limit=5`).set(auth(bob));
    expect(res.status).toBe(200);
    expect(res.body.map((m: any) => m.content)).toEqual(['m116', 'm117', 'm118', 'm119', 'm120']);
  });

  it('GET /chatrooms shows the live last seq, unread count and last message', async () => {
    const res = await t.http().get('/chatrooms').set(auth(bob));
    expect(res.body[0]).toMatchObject({
      id: room,
      lastSeq: TOTAL,
      readSeq: 0,
      unreadCount: TOTAL,
      lastMessage: { seq: TOTAL },
    });
    const mine = await t.http().get('/chatrooms').set(auth(alice));
    expect(mine.body[0].unreadCount).toBe(0); // own messages are never unread
  });
});
