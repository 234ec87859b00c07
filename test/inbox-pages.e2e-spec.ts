import { resetState, sql, startApp, TestApp } from './utils/app';
import { auth, createRoom, createUser, TestUser } from './utils/users';

/**
 * GET /inbox/messages reads a page per room of the caller and keeps the newest (see
 * InboxRepository.page), with two ways of finding a room's unread messages: by seq range
 * where at most a page is stored past the position, by walking ids where more is. Every
 * page, followed to the end, must list exactly what one sort of all received messages gives,
 * in both ways and across rooms. Rows are written in SQL (thousands, faster than sending
 * them), with time-ordered ids as the server gives them; nothing is queued in Redis. Pages
 * of 200 and of 7 take each room both ways.
 */
describe('inbox pages across rooms (e2e)', () => {
  let t: TestApp;
  let me: TestUser, alice: TestUser, bob: TestUser;
  let busy: number, quiet: number, notMine: number;
  type Row = { id: string; chatroomId: number; seq: number; senderId: number };
  const rows: Row[] = [];
  const hidden = new Set<string>();
  const readOutOfOrder = new Set<string>();
  const retracted = new Set<string>();
  const readSeq: Record<number, number> = {};

  /** A uuidv7-like id for time `ms` (what the server assigns: time-ordered). */
  const idAt = (ms: number, n: number) => {
    const h = ms.toString(16).padStart(12, '0') + n.toString(16).padStart(20, '0');
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-7${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
  };

  async function write(room: number, senders: number[], count: number, startMs: number, stepMs: number) {
    const batch: Row[] = [];
    for (let seq = 1; seq <= count; seq++) {
      batch.push({
        id: idAt(startMs + seq * stepMs, room * 100_000 + seq),
        chatroomId: room,
        seq,
        senderId: senders[seq % senders.length],
      });
    }
    await sql(
      `INSERT INTO messages (id, chatroom_id, seq, sender_id, type, content, created_at)
       SELECT u.id, u.room, u.seq, u.sender, 'text', 'm' || u.seq, now()
         FROM unnest($1::uuid[], $2::int[], $3::int[], $4::int[]) AS u(id, room, seq, sender)`,
      [batch.map((r) => r.id), batch.map((r) => r.chatroomId), batch.map((r) => r.seq), batch.map((r) => r.senderId)],
    );
    await sql('UPDATE chatrooms SET last_seq = $2 WHERE id = $1', [room, count]);
    rows.push(...batch);
  }

  beforeAll(async () => {
    await resetState();
    t = await startApp();
    [me, alice, bob] = await Promise.all(['me', 'alice', 'bob'].map((n) => createUser(t, n)));
    busy = await createRoom(t, alice, [me], 'busy');
    quiet = await createRoom(t, bob, [me], 'quiet');
    notMine = await createRoom(t, alice, [bob], 'not mine');
    const start = Date.now() - 3_600_000;
    // Busy: 1,500 messages, mine among them, and 1,400 past my position (many unread: the id walk).
    await write(busy, [alice.id, alice.id, me.id], 1500, start, 1000);
    // Quiet: 40 interleaved in time with busy's, 25 past my position: the seq range for pages
    // of 200, the id walk for pages of 7.
    await write(quiet, [bob.id], 40, start + 500, 37_000);
    await write(notMine, [alice.id, bob.id], 300, start + 250, 5000);
    readSeq[busy] = 100;
    readSeq[quiet] = 15;
    // Twelve small rooms, interleaved with each other after the others end: with pages of 3,
    // most rooms' newest message is below the page's floor, and they must be skipped without
    // losing any of theirs, while the room at the floor must not be.
    for (let i = 0; i < 12; i++) {
      const room = await createRoom(t, bob, [me], `side ${i}`);
      await write(room, [bob.id, alice.id], 6, start + 2_000_000 + i * 100_000, 45_000);
      readSeq[room] = 2;
    }
    // And twelve of one unread message each, newest of all: there a page of 3 is the heads.
    for (let i = 0; i < 12; i++) {
      const room = await createRoom(t, bob, [me], `single ${i}`);
      await write(room, [bob.id], 1, start + 3_000_000 + i * 10_000, 1000);
      readSeq[room] = 0;
    }
    for (const [room, seq] of Object.entries(readSeq)) {
      await sql('UPDATE chatroom_members SET read_seq = $3 WHERE chatroom_id = $1 AND user_id = $2', [
        room,
        me.id,
        seq,
      ]);
    }
    const at = (room: number, seq: number) => rows.find((r) => r.chatroomId === room && r.seq === seq)!;
    // A mark of mine on each of these messages: hidden for me, and read out of order.
    const mark = async (table: string, marks: Row[], into: Set<string>) => {
      for (const r of marks) {
        await sql(`INSERT INTO ${table} (user_id, chatroom_id, seq) VALUES ($1, $2, $3)`, [me.id, r.chatroomId, r.seq]);
        into.add(r.id);
      }
    };
    await mark('message_hidden', [at(busy, 1201), at(quiet, 30)], hidden);
    await mark('message_reads', [at(busy, 1300), at(quiet, 20)], readOutOfOrder);
    for (const r of [at(busy, 1400), at(quiet, 35)]) {
      await sql("UPDATE messages SET deleted_at = now(), content = '' WHERE id = $1", [r.id]);
      retracted.add(r.id);
    }
  });
  afterAll(() => t.close());

  const received = () =>
    rows
      .filter((r) => r.chatroomId !== notMine && r.senderId !== me.id && !hidden.has(r.id) && !retracted.has(r.id))
      .sort((a, b) => (a.id < b.id ? 1 : -1));
  const isRead = (r: Row) => r.seq <= readSeq[r.chatroomId] || readOutOfOrder.has(r.id);

  async function follow(query: string, limit: number) {
    const seen: { id: string; read: boolean }[] = [];
    let cursor: string | undefined;
    for (let pages = 0; pages < 2000; pages++) {
      const res = await t
        .http()
        .get(`/inbox/messages?limit=${limit}${query}${cursor ? `&cursor=${cursor}` : ''}`)
        .set(auth(me));
      expect(res.status).toBe(200);
      seen.push(...res.body.items.map((m: any) => ({ id: m.id, read: m.read })));
      if (!res.body.hasMore) return seen;
      cursor = res.body.nextCursor;
    }
    throw new Error('no end to the pages');
  }

  it('lists every received message of every room, newest first, page after page', async () => {
    const want = received().map((r) => ({ id: r.id, read: isRead(r) }));
    expect(want.length).toBeGreaterThan(1000);
    expect(await follow('', 200)).toEqual(want);
    expect(await follow('', 3)).toEqual(want);
  });

  it('lists exactly the unread ones, whether a room has many unread or few', async () => {
    const want = received()
      .filter((r) => !isRead(r))
      .map((r) => ({ id: r.id, read: false }));
    // Busy has 1,400 stored past my position (more than a page: the id walk), a third of them mine.
    expect(want.filter((w) => rows.find((r) => r.id === w.id)!.chatroomId === busy).length).toBeGreaterThan(900);
    expect(want.filter((w) => rows.find((r) => r.id === w.id)!.chatroomId === quiet).length).toBeGreaterThan(0);
    expect(await follow('&unread=true', 200)).toEqual(want);
    expect(await follow('&unread=true', 7)).toEqual(want);
    expect(await follow('&unread=true', 3)).toEqual(want);
  });

  it('filters by room, in both ways', async () => {
    for (const room of [busy, quiet]) {
      const mine = received().filter((r) => r.chatroomId === room);
      expect(await follow(`&chatroomId=${room}`, 50)).toEqual(mine.map((r) => ({ id: r.id, read: isRead(r) })));
      const unread = mine.filter((r) => !isRead(r)).map((r) => ({ id: r.id, read: false }));
      expect(await follow(`&chatroomId=${room}&unread=true`, 50)).toEqual(unread);
    }
  });

  it("runs on a database whose sessions do not JIT-compile (a page's plan would pass the threshold)", async () => {
    expect(await sql("SELECT current_setting('jit') AS jit")).toEqual([{ jit: 'off' }]);
  });

  it('lists nothing for a user in no room', async () => {
    const loner = await createUser(t, 'loner');
    const res = await t.http().get('/inbox/messages?unread=true').set(auth(loner));
    expect(res.body).toEqual({ items: [], hasMore: false });
  });
});
