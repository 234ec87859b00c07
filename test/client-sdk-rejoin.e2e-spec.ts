/**
 * A user in many rooms loses the connection. The client package joins and, after the drop,
 * re-joins every room within the server's per-socket event budget (made small here: 20 at
 * once, 10 a second, for 60 rooms), is never cut for flooding, and gets what is sent in each
 * room afterwards. Firing every join at once had 40 refused at once, the refused ones asking
 * again together after each wait, the connection cut by the flood guard within a second, and
 * the same rejoin again at every reconnect, for ever.
 *
 * And the server's side of that bargain: a socket that waits `retryAfterMs` after each
 * refusal, sending its next event the moment one is answered, is never cut.
 */
import { type ChatClient, type ChatError, type Message } from '@chat-backend/client';
import { sdkSession } from './utils/sdk';
import type { Socket } from 'socket.io-client';
import { eventually, resetState, sql, startApp, TestApp } from './utils/app';
import { parseMetrics, valueOf } from './utils/metrics';
import { connect, emitAck, sleep } from './utils/sockets';
import { createUser, TestUser } from './utils/users';

const ROOMS = 60;

describe('client package: a user in many rooms (e2e)', () => {
  let t: TestApp;
  let bob: TestUser, alice: TestUser;
  let rooms: number[];
  const clients: ChatClient[] = [];

  beforeAll(async () => {
    await resetState();
    t = await startApp({
      SOCKET_EVENT_RATE_PER_SEC: '10',
      SOCKET_EVENT_BURST: '20',
      // Alice's sends are not what this is about.
      SEND_RATE_PER_SEC: '1000',
      SEND_BURST: '1000',
    });
    [bob, alice] = await Promise.all(['bob', 'alice'].map((n) => createUser(t, n)));
    rooms = await manyRooms(bob, alice, ROOMS);
  });
  afterAll(async () => {
    for (const c of clients.splice(0)) c.disconnect();
    await t.close();
  });

  /** `n` rooms owned by `owner` with `member` in each, made in SQL. */
  async function manyRooms(owner: TestUser, member: TestUser, n: number): Promise<number[]> {
    const rows = await sql<{ id: number }>(
      `WITH r AS (INSERT INTO chatrooms (name, type, created_by_id)
                  SELECT 'many' || g, 'group', $1 FROM generate_series(1, $3::int) g RETURNING id),
            m AS (INSERT INTO chatroom_members (chatroom_id, user_id, role)
                  SELECT id, $1, 'owner'::"MemberRole" FROM r
                  UNION ALL SELECT id, $2, 'member'::"MemberRole" FROM r)
       SELECT id FROM r ORDER BY id`,
      [owner.id, member.id, n],
    );
    return rows.map((r) => r.id);
  }

  function session(u: TestUser): Promise<ChatClient> {
    return sdkSession(t.url, u.token, clients);
  }

  /**
   * A message to each room, ten at a time: sends in flight at once each hold one of the
   * socket's event tokens until accepted, and the budget here is 20.
   */
  async function sendToEach(sender: ChatClient, text: string): Promise<void> {
    for (let i = 0; i < rooms.length; i += 10) {
      await Promise.all(rooms.slice(i, i + 10).map((r) => sender.send(r, `${text} ${r}`).acked));
    }
  }

  const floodCuts = async () =>
    valueOf(parseMetrics(await (await fetch(`${t.url}/metrics`)).text()), 'chat_flood_disconnects_total');

  /** What a client reports: its disconnects (reasons) and background errors. */
  function watch(c: ChatClient) {
    const seen = { disconnects: [] as string[], errors: [] as ChatError[] };
    c.on('disconnect', (reason) => seen.disconnects.push(reason));
    c.on('error', (e) => seen.errors.push(e));
    return seen;
  }

  /** Every message the client delivers from now on, and whether each room has `n` of them. */
  function inbox(c: ChatClient) {
    const got: Message[] = [];
    c.on('message', (m) => got.push(m));
    const inRoom = (r: number) => got.filter((m) => m.chatroomId === r);
    return { inRoom, inEvery: (n: number) => rooms.every((r) => inRoom(r).length >= n) };
  }

  it('joins every room asked at once, without being cut', async () => {
    const cutsBefore = await floodCuts();
    const c = await session(bob);
    const seen = watch(c);
    const got = inbox(c);
    const joined = await Promise.all(rooms.map((r) => c.joinRoom(r)));
    expect(joined.map((j) => j.chatroomId)).toEqual(rooms);
    await sendToEach(await session(alice), 'hello');
    await eventually(() => got.inEvery(1), 10_000, 'a message in every room');
    expect(seen).toEqual({ disconnects: [], errors: [] });
    expect(await floodCuts()).toBe(cutsBefore);
    c.disconnect();
  }, 60_000);

  it('re-joins every room after a drop, without being cut, and gets what is sent afterwards, once and in order', async () => {
    const cutsBefore = await floodCuts();
    const c = await session(bob);
    const seen = watch(c);
    for (const r of rooms) await c.joinRoom(r); // one at a time: the rejoin is the burst here
    const got = inbox(c);
    const reconnected = new Promise((resolve) => c.once('connect', () => resolve(undefined)));
    c.socket!.io.engine.close(); // the network drops; socket.io reconnects by itself
    await reconnected;

    // Sent while the rejoin goes on: each reaches the client live or through the sync after
    // its room's rejoin. A room never re-joined gets neither.
    const sender = await session(alice);
    await sendToEach(sender, 'first');
    await eventually(() => got.inEvery(1), 20_000, 'the first message in every room');
    // Every room is joined again by now: the next message comes live.
    await sendToEach(sender, 'second');
    await eventually(() => got.inEvery(2), 10_000, 'the second message in every room');
    await sleep(200);

    for (const r of rooms) {
      const [first, second, ...more] = got.inRoom(r);
      expect([first.content, second.content, more]).toEqual([`first ${r}`, `second ${r}`, []]);
      expect(second.seq).toBe(first.seq + 1);
    }
    // The drop (closing the engine reads as 'forced close'), and no cut ('transport close').
    expect(seen).toEqual({ disconnects: ['forced close'], errors: [] });
    expect(await floodCuts()).toBe(cutsBefore);
  }, 60_000);

  it("the server never cuts a socket that waits retryAfterMs after each refusal, even at the budget's full rate", async () => {
    const fast = await startApp({
      SOCKET_EVENT_RATE_PER_SEC: '100',
      SOCKET_EVENT_BURST: '5',
      USER_SOCKET_EVENT_RATE_PER_SEC: '1000',
    });
    let s: Socket | undefined;
    try {
      s = await connect(fast.url, bob.token);
      let cut = false;
      s.once('disconnect', () => (cut = true));
      // One refusal per event, 100 a second: far past the 200 (and 20 a second) that a
      // client ignoring its refusals may collect. 400 of them were cut at about 250.
      let refused = 0;
      const deadline = Date.now() + 15_000;
      while (refused < 400 && !cut && Date.now() < deadline) {
        const a = await emitAck(s, 'joinRoom', { chatroomId: rooms[0] });
        if (a.ok) continue;
        expect(a.error).toMatchObject({ code: 'RATE_LIMITED', details: { retryAfterMs: expect.any(Number) } });
        refused++;
        await sleep(a.error!.details.retryAfterMs);
      }
      expect(cut).toBe(false);
      expect(refused).toBe(400);
      expect(s.connected).toBe(true);
    } finally {
      s?.disconnect();
      await fast.close();
    }
  }, 30_000);
});
