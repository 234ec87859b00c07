import { PAGE_CHARS_PER_MESSAGE, PAGE_MAX_CHARS } from '../src/chat-history/page-size';
import { resetState, sql, startApp, TestApp } from './utils/app';
import { auth, createRoom, createUser, TestUser } from './utils/users';

const COUNT = 200;
const CHARS = 4000;
/** What a page of 4,000-character messages holds (PAGE_MAX_CHARS). */
const FITS = Math.floor(PAGE_MAX_CHARS / (CHARS + PAGE_CHARS_PER_MESSAGE));

/**
 * Pages of long messages are cut by size, not only by `limit`: 200 messages of 4,000 control
 * characters were 4.85 MB of JSON per page. A cut page says `hasMore` with its cursor, and
 * following the cursors lists every message exactly once, on every paged route.
 */
describe('page size of long messages (e2e)', () => {
  let t: TestApp;
  let alice: TestUser, bob: TestUser, admin: TestUser;
  let room: number;
  const ids: string[] = [];

  /** A uuidv7-like id for time `ms` (time-ordered, as the server assigns them). */
  const idAt = (ms: number, n: number) => {
    const h = ms.toString(16).padStart(12, '0') + n.toString(16).padStart(20, '0');
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-7${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
  };

  beforeAll(async () => {
    await resetState();
    t = await startApp();
    [alice, bob, admin] = await Promise.all(['alice', 'bob', 'admin'].map((n) => createUser(t, n)));
    await sql("UPDATE users SET role = 'admin' WHERE id = $1", [admin.id]);
    room = await createRoom(t, alice, [bob]);
    const start = Date.now() - 3_600_000;
    for (let seq = 1; seq <= COUNT; seq++) ids.push(idAt(start + seq * 1000, seq));
    await sql(
      `INSERT INTO messages (id, chatroom_id, seq, sender_id, type, content, created_at)
       SELECT u.id, $2, u.seq, $3, 'text', repeat(chr(1), $4), now()
         FROM unnest($1::uuid[]) WITH ORDINALITY AS u(id, seq)`,
      [ids, room, alice.id, CHARS],
    );
    await sql('UPDATE chatrooms SET last_seq = $2 WHERE id = $1', [room, COUNT]);
  });
  afterAll(() => t.close());

  /** Follows a route's cursor to the end; returns every page's items. */
  async function follow(path: (cursor?: string) => string, user: TestUser) {
    const pages: any[][] = [];
    let cursor: string | undefined;
    for (;;) {
      const res = await t.http().get(path(cursor)).set(auth(user));
      expect(res.status).toBe(200);
      pages.push(res.body.items);
      expect(res.body.items.length).toBeLessThanOrEqual(FITS);
      if (!res.body.hasMore) return pages;
      expect(res.body.nextCursor).toBeDefined();
      cursor = res.body.nextCursor;
    }
  }

  it('cuts history pages by size and lists every message once, both ways', async () => {
    const back = await follow((c) => `/chatrooms/${room}/messages?limit=200${c ? `&before=${c}` : ''}`, bob);
    expect(back[0]).toHaveLength(FITS);
    expect(back.flat().map((m) => m.seq)).toEqual(Array.from({ length: COUNT }, (_, i) => COUNT - i));
    expect(back[0][0].content).toBe('\u0001'.repeat(CHARS));
    const fwd = await follow((c) => `/chatrooms/${room}/messages?limit=200&after=${c ?? 0}`, bob);
    expect(fwd.flat().map((m) => m.seq)).toEqual(Array.from({ length: COUNT }, (_, i) => i + 1));
  });

  it('cuts inbox, sent and admin pages alike', async () => {
    const newestFirst = [...ids].reverse();
    const inbox = await follow((c) => `/inbox/messages?limit=200${c ? `&cursor=${c}` : ''}`, bob);
    expect(inbox[0]).toHaveLength(FITS);
    expect(inbox.flat().map((m) => m.id)).toEqual(newestFirst);
    const sent = await follow((c) => `/messages/sent?limit=200${c ? `&cursor=${c}` : ''}`, alice);
    expect(sent[0]).toHaveLength(FITS);
    expect(sent.flat().map((m) => m.id)).toEqual(newestFirst);
    const all = await follow((c) => `/admin/messages?chatroomId=${room}&limit=200${c ? `&cursor=${c}` : ''}`, admin);
    expect(all[0]).toHaveLength(FITS);
    expect(all.flat().map((m) => m.id)).toEqual(newestFirst);
  });

  it('keeps a page of ordinary messages whole', async () => {
    const short = await createRoom(t, alice, [bob], 'short');
    await sql(
      `INSERT INTO messages (id, chatroom_id, seq, sender_id, type, content, created_at)
       SELECT gen_random_uuid(), $1, s, $2, 'text', 'hello ' || s, now() FROM generate_series(1, 200) s`,
      [short, alice.id],
    );
    await sql('UPDATE chatrooms SET last_seq = 200 WHERE id = $1', [short]);
    const res = await t.http().get(`/chatrooms/${short}/messages?limit=200`).set(auth(bob));
    expect([res.body.items.length, res.body.hasMore]).toEqual([200, false]);
  });
});
