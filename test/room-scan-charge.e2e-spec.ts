import { resetState, sql, startApp, TestApp, untilRefused } from './utils/app';
import { closeAllSockets, connect, emitAck } from './utils/sockets';
import { auth, createUser, TestUser } from './utils/users';

const ROOMS = 150;

/** Puts `user` in `n` group rooms of their own, in SQL, so that making them spends no budget. */
async function inRooms(user: TestUser, n: number): Promise<number[]> {
  const rows = await sql<{ id: number }>(
    `WITH r AS (INSERT INTO chatrooms (name, type, created_by_id)
                SELECT 'scan_' || $1::int || '_' || g, 'group', $1::int FROM generate_series(1, $2::int) g RETURNING id)
     INSERT INTO chatroom_members (chatroom_id, user_id, role) SELECT id, $1::int, 'owner' FROM r RETURNING chatroom_id AS id`,
    [user.id, n],
  );
  return rows.map((r) => r.id);
}

/**
 * Calls that recount or read something of every room of the caller's, charged as the room
 * lists are (GET /inbox): one more REST request per 50 rooms, and for the socket's markRead
 * one more event of the user's budget per 50 rooms. A probe in 1,000 rooms had each at
 * 7-26 ms of the server for the price of one. A REST budget of 20 a minute here and users in
 * 150 rooms: each call costs 1 + 3, so five pass (six if a point refilled meanwhile), where
 * uncharged all ten would.
 */
describe('reads of every room of the caller charged by room count (e2e)', () => {
  let t: TestApp;

  beforeAll(async () => {
    await resetState();
    t = await startApp({
      REST_REQUESTS_PER_MIN: '20',
      USER_SOCKET_EVENT_RATE_PER_SEC: '1',
      USER_SOCKET_EVENT_BURST: '20',
    });
  });
  afterEach(() => closeAllSockets());
  afterAll(() => t.close());

  /** A message of `user`'s in `room`, sent over a socket (which spends no REST budget). */
  async function send(user: TestUser, room: number): Promise<string> {
    const s = await connect(t.url, user.token);
    const ack = await emitAck(s, 'sendMessage', { chatroomId: room, message: { type: 'text', content: 'hi' } });
    expect(ack.ok).toBe(true);
    s.close();
    return ack.data.id as string;
  }

  it(`charges POST /inbox/read 1 + 3 for a reader in ${ROOMS} rooms`, async () => {
    const reader = await createUser(t, 'reader');
    const [room] = await inRooms(reader, ROOMS);
    const reads = await untilRefused(() =>
      t.http().post('/inbox/read').set(auth(reader)).send({ chatroomId: room, seq: 0 }),
    );
    expect(reads).toBeGreaterThanOrEqual(5);
    expect(reads).toBeLessThanOrEqual(6);
  });

  it(`charges POST /inbox/read {messageIds} the same`, async () => {
    const reader = await createUser(t, 'idreader');
    const [room] = await inRooms(reader, ROOMS);
    const id = await send(reader, room);
    const reads = await untilRefused(() =>
      t
        .http()
        .post('/inbox/read')
        .set(auth(reader))
        .send({ messageIds: [id] }),
    );
    expect(reads).toBeGreaterThanOrEqual(5);
    expect(reads).toBeLessThanOrEqual(6);
  });

  it(`charges DELETE /inbox/messages/:id 1 + 3 for a caller in ${ROOMS} rooms`, async () => {
    const hider = await createUser(t, 'hider');
    const [room] = await inRooms(hider, ROOMS);
    const id = await send(hider, room);
    const hides = await untilRefused(() => t.http().delete(`/inbox/messages/${id}`).set(auth(hider)), 204);
    expect(hides).toBeGreaterThanOrEqual(5);
    expect(hides).toBeLessThanOrEqual(6);
  });

  it(`charges GET /messages/sent 1 + 3 for a sender in ${ROOMS} rooms; with a chatroomId it costs one`, async () => {
    const sender = await createUser(t, 'sender');
    const [room] = await inRooms(sender, ROOMS);
    await send(sender, room);
    const reads = await untilRefused(() => t.http().get('/messages/sent').set(auth(sender)));
    expect(reads).toBeGreaterThanOrEqual(5);
    expect(reads).toBeLessThanOrEqual(6);

    const scoped = await createUser(t, 'scoped');
    const [own] = await inRooms(scoped, ROOMS);
    await send(scoped, own);
    for (let i = 0; i < 15; i++) {
      expect((await t.http().get(`/messages/sent?chatroomId=${own}`).set(auth(scoped))).status).toBe(200);
    }
  });

  it('leaves a caller in few rooms at one request a call', async () => {
    const calm = await createUser(t, 'calm');
    const [room] = await inRooms(calm, 10);
    const id = await send(calm, room);
    for (let i = 0; i < 5; i++) {
      expect((await t.http().post('/inbox/read').set(auth(calm)).send({ chatroomId: room, seq: 0 })).status).toBe(200);
      expect((await t.http().delete(`/inbox/messages/${id}`).set(auth(calm))).status).toBe(204);
      expect((await t.http().get('/messages/sent').set(auth(calm))).status).toBe(200);
    }
  });

  it(`charges socket markRead 1 + 3 events of the user's budget for a reader in ${ROOMS} rooms`, async () => {
    const reader = await createUser(t, 'sockreader');
    const [room] = await inRooms(reader, ROOMS);
    const s = await connect(t.url, reader.token);
    // A user budget of 20 events at 1 a second: five marks of 4, then refused.
    let marks = 0;
    for (let i = 0; i < 10; i++) {
      const ack = await emitAck(s, 'markRead', { chatroomId: room, seq: 0 });
      if (!ack.ok) {
        expect(ack.error?.code).toBe('RATE_LIMITED');
        expect(ack.error?.details.retryAfterMs).toBeGreaterThan(0);
        break;
      }
      expect(ack.data).toMatchObject({ chatroomId: room, totalUnread: 0 });
      marks++;
    }
    expect(marks).toBeGreaterThanOrEqual(5);
    expect(marks).toBeLessThanOrEqual(6);

    // A reader in one room pays one event a mark.
    const calm = await createUser(t, 'sockcalm');
    const [own] = await inRooms(calm, 1);
    const c = await connect(t.url, calm.token);
    for (let i = 0; i < 15; i++) expect((await emitAck(c, 'markRead', { chatroomId: own, seq: 0 })).ok).toBe(true);
  });
});
