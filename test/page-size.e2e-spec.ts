import { MessageRepository } from '../src/chat-history/message.repository';
import type { MessageRow } from '../src/chat-history/message.types';
import type { SizedRows } from '../src/common/sized-rows';
import { PAGE_CHARS_PER_MESSAGE, PAGE_MAX_CHARS, PREVIEW_MAX_CHARS } from '../src/chat-history/page-size';
import type { QueryResult } from 'pg';
import { PrismaService } from '../src/prisma/prisma.service';
import { resetState, sql, startApp, TestApp } from './utils/app';
import { closeAllSockets, connect, emitAck } from './utils/sockets';
import { auth, createRoom, createUser, TestUser } from './utils/users';

const COUNT = 200;
const CHARS = 4000;
/** What a page of 4,000 control characters per message holds: JSON writes each as six. */
const FITS = Math.floor(PAGE_MAX_CHARS / (6 * CHARS + PAGE_CHARS_PER_MESSAGE));
/** The most JSON a page of them may be: PAGE_MAX_CHARS, and room for the page's own fields. */
const MAX_PAGE_BYTES = PAGE_MAX_CHARS + 10_000;

/**
 * Pages of long messages are cut by size, not only by `limit`: 200 messages of 4,000 control
 * characters were 4.85 MB of JSON per page, and a sync answer of 500 of them 12 MB. A cut
 * page says `hasMore` with its cursor, and following the cursors lists every message exactly
 * once, on every paged route and in sync.
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
  afterAll(async () => {
    closeAllSockets();
    await t.close();
  });

  /**
   * Follows a route's cursor to the end; returns every page's items. Each page is at most
   * `fits` messages and `maxBytes` of JSON; `onPage` runs after each.
   */
  async function follow(
    path: (cursor?: string) => string,
    user: TestUser,
    { fits = FITS, maxBytes = MAX_PAGE_BYTES, onPage = async () => {} } = {},
  ) {
    const pages: any[][] = [];
    let cursor: string | undefined;
    for (;;) {
      const res = await t.http().get(path(cursor)).set(auth(user));
      expect(res.status).toBe(200);
      expect(Buffer.byteLength(res.text)).toBeLessThanOrEqual(maxBytes);
      pages.push(res.body.items);
      expect(res.body.items.length).toBeLessThanOrEqual(fits);
      await onPage();
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

  /**
   * follow, and how many message rows (a `content` column) PostgreSQL returned for each page:
   * a call-through spy on the pool, which Prisma's driver adapter queries as well.
   */
  async function followReading(
    path: (cursor?: string) => string,
    user: TestUser,
    opts: { fits?: number; maxBytes?: number } = {},
  ) {
    const query = jest.spyOn(t.app.get(PrismaService).pool, 'query') as jest.SpyInstance;
    const reads: number[] = [];
    const onPage = async () => {
      const answers = await Promise.allSettled(query.mock.results.map((r) => r.value as Promise<QueryResult>));
      const messageRows = answers.flatMap((a) =>
        a.status === 'fulfilled' && a.value?.fields?.some((f) => f.name === 'content') ? [a.value.rows.length] : [],
      );
      reads.push(messageRows.reduce((n, rows) => n + rows, 0));
      query.mockClear();
    };
    try {
      return { pages: await follow(path, user, { ...opts, onPage }), reads };
    } finally {
      query.mockRestore();
    }
  }

  /** The pages that read up to `limit` rows before they were cut by size, and who reads each. */
  const idPaged: [string, string, () => TestUser][] = [
    ['GET /inbox/messages', '/inbox/messages', () => bob],
    ['GET /messages/sent', '/messages/sent', () => alice],
    ['GET /admin/messages', '/admin/messages', () => admin],
  ];
  /** A room's page of 200 asked, and the one after `cursor`. */
  const roomPage = (route: string, chatroomId: number) => (c?: string) =>
    `${route}?chatroomId=${chatroomId}&limit=200${c ? `&cursor=${c}` : ''}`;

  describe('inbox, sent and admin pages', () => {
    /** Three bytes a character: PostgreSQL's byte count cuts these pages before their JSON count would. */
    const wideChars = '\u4e2d'.repeat(CHARS);
    const wideBytes = Buffer.byteLength(wideChars);
    const WIDE_COUNT = 50;
    const wideIds: string[] = [];
    let wide: number;

    beforeAll(async () => {
      wide = await createRoom(t, alice, [bob], 'wide');
      const start = Date.now() - 1_800_000;
      for (let seq = 1; seq <= WIDE_COUNT; seq++) wideIds.push(idAt(start + seq * 1000, 10_000 + seq));
      await sql(
        `INSERT INTO messages (id, chatroom_id, seq, sender_id, type, content, created_at)
         SELECT u.id, $2, u.seq, $3, 'text', $4, now()
           FROM unnest($1::uuid[]) WITH ORDINALITY AS u(id, seq)`,
        [wideIds, wide, alice.id, wideChars],
      );
      await sql('UPDATE chatrooms SET last_seq = $2 WHERE id = $1', [wide, WIDE_COUNT]);
    });

    it.each(idPaged)(
      '%s reads from PostgreSQL only the rows that begin within the budget, and lists each message once',
      async (_, route, user) => {
        const { pages, reads } = await followReading(roomPage(route, room), user());
        // 4,000 bytes and 200 a row: the rows that begin within PAGE_MAX_CHARS, of the 200 asked.
        const fitByBytes = Math.ceil(PAGE_MAX_CHARS / (CHARS + PAGE_CHARS_PER_MESSAGE));
        expect(reads[0]).toBe(fitByBytes);
        expect(Math.max(...reads)).toBe(fitByBytes);
        expect(pages[0]).toHaveLength(FITS); // JSON's six characters a control cut it further
        expect(pages.flat().map((m) => m.id)).toEqual([...ids].reverse());
      },
    );

    it.each(idPaged)(
      '%s ends a page PostgreSQL cut at its last row, with hasMore, and its cursor lists every message once',
      async (_, route, user) => {
        const fitByBytes = Math.ceil(PAGE_MAX_CHARS / (wideBytes + PAGE_CHARS_PER_MESSAGE)); // 21 of 50
        const sizes = [fitByBytes, fitByBytes, WIDE_COUNT - 2 * fitByBytes];
        const { pages, reads } = await followReading(roomPage(route, wide), user(), {
          fits: fitByBytes,
          maxBytes: PAGE_MAX_CHARS + wideBytes + 10_000,
        });
        expect(reads).toEqual(sizes);
        expect(pages.map((p) => p.length)).toEqual(sizes);
        expect(pages.flat().map((m) => m.id)).toEqual([...wideIds].reverse());
        expect(pages[0][0].content).toBe(wideChars);
      },
    );
  });

  it('reads no more rows from PostgreSQL than fit in a page by their stored size', async () => {
    const repo = t.app.get(MessageRepository);
    const spies = [jest.spyOn(repo, 'pageBefore'), jest.spyOn(repo, 'pageAfter')]; // calling through
    try {
      const page = await t.http().get(`/chatrooms/${room}/messages?limit=200`).set(auth(bob));
      expect(page.body.items).toHaveLength(FITS);
      const s = await connect(t.url, bob.token);
      const synced = await emitAck(s, 'sync', { rooms: [{ chatroomId: room, afterSeq: 0 }] });
      expect(synced.data.rooms[0].messages).toHaveLength(FITS);
      const reads = await Promise.all(
        spies.flatMap((spy) => spy.mock.results.map((r) => r.value as Promise<SizedRows<MessageRow>>)),
      );
      // 4,000 bytes and 200 a row: the rows that begin within PAGE_MAX_CHARS, not all 200 asked.
      const fitByBytes = Math.ceil(PAGE_MAX_CHARS / (CHARS + PAGE_CHARS_PER_MESSAGE));
      expect(reads.map((r) => [r.rows.length, r.cut])).toEqual([
        [fitByBytes, true],
        [fitByBytes, true],
      ]);
    } finally {
      spies.forEach((spy) => spy.mockRestore());
    }
  });

  it('cuts sync answers by size too, the rooms taking turns, and hasMore leads to every message once', async () => {
    const other = await createRoom(t, alice, [bob], 'sync-other');
    await sql(
      `INSERT INTO messages (id, chatroom_id, seq, sender_id, type, content, created_at)
       SELECT gen_random_uuid(), $1, s, $2, 'text', repeat(chr(1), $3), now() FROM generate_series(1, 30) s`,
      [other, alice.id, CHARS],
    );
    await sql('UPDATE chatrooms SET last_seq = 30 WHERE id = $1', [other]);
    const s = await connect(t.url, bob.token);
    const got = new Map<number, number[]>([
      [room, []],
      [other, []],
    ]);
    let asking = [room, other];
    for (let calls = 0; asking.length; calls++) {
      expect(calls).toBeLessThan(40);
      const res = await emitAck(s, 'sync', {
        rooms: asking.map((chatroomId) => ({ chatroomId, afterSeq: got.get(chatroomId)!.at(-1) ?? 0 })),
      });
      expect(res.ok).toBe(true);
      expect(Buffer.byteLength(JSON.stringify(res.data))).toBeLessThanOrEqual(MAX_PAGE_BYTES);
      const answered: { chatroomId: number; messages: { seq: number }[]; hasMore: boolean }[] = res.data.rooms;
      if (calls === 0)
        expect(answered.map((r) => r.messages.length)).toEqual([Math.ceil(FITS / 2), Math.floor(FITS / 2)]);
      for (const r of answered) {
        expect(r.messages.length).toBeGreaterThan(0); // every room moves on in every answer
        got.get(r.chatroomId)!.push(...r.messages.map((m) => m.seq));
      }
      asking = answered.filter((r) => r.hasMore).map((r) => r.chatroomId);
    }
    const seqs = (n: number) => Array.from({ length: n }, (_, i) => i + 1);
    expect(got.get(room)).toEqual(seqs(COUNT)); // no gap, no repeat, in order
    expect(got.get(other)).toEqual(seqs(30));
  });

  it('cuts each room’s last message in the room lists, and says so; short ones come whole', async () => {
    const chat = await createRoom(t, alice, [bob], 'previews');
    await sql(
      `INSERT INTO messages (id, chatroom_id, seq, sender_id, type, content, created_at)
       VALUES (gen_random_uuid(), $1, 1, $2, 'text', 'see you at 5', now())`,
      [chat, alice.id],
    );
    await sql('UPDATE chatrooms SET last_seq = 1 WHERE id = $1', [chat]);
    const cut = { content: '\u0001'.repeat(Math.floor(PREVIEW_MAX_CHARS / 6)), truncated: true, seq: COUNT };
    const whole = { content: 'see you at 5', seq: 1 };

    const rooms = await t.http().get('/chatrooms').set(auth(bob));
    expect(rooms.status).toBe(200);
    const listed = new Map(rooms.body.map((r: any) => [r.id, r.lastMessage]));
    expect(listed.get(room)).toMatchObject(cut);
    expect(listed.get(chat)).toMatchObject(whole);
    expect(listed.get(chat)).not.toHaveProperty('truncated');

    const inbox = await t.http().get('/inbox').set(auth(bob));
    expect(inbox.status).toBe(200);
    const inInbox = new Map(inbox.body.rooms.map((r: any) => [r.chatroomId, r.lastMessage]));
    expect(inInbox.get(room)).toMatchObject(cut);
    expect(inInbox.get(chat)).toMatchObject(whole);

    // The message itself is whole where it is read.
    const last = await t.http().get(`/chatrooms/${room}/messages?limit=1`).set(auth(bob));
    expect(last.body.items[0].content).toBe('\u0001'.repeat(CHARS));
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
