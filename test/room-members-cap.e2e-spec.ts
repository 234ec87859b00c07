import { resetState, sql, startApp, TestApp, untilRefused } from './utils/app';
import { closeAllSockets, connect, emitAck } from './utils/sockets';
import { auth, createRoom, createUser, TestUser } from './utils/users';

const memberCount = async (room: number) =>
  (await sql<{ n: number }>('SELECT count(*)::int AS n FROM chatroom_members WHERE chatroom_id = $1', [room]))[0].n;

/**
 * Anyone may add anyone to a group room, 500 ids a request: without a cap a probe built a
 * room of 30,001 members in 33 s, whose detail was 15.5 MB and ~800 ms of the event loop per
 * read. ROOM_MEMBERS_MAX (5 here) holds on create and on add, also for concurrent adds.
 */
describe('ROOM_MEMBERS_MAX (e2e)', () => {
  let t: TestApp;
  let owner: TestUser;
  let u: TestUser[];

  beforeAll(async () => {
    await resetState();
    t = await startApp({ ROOM_MEMBERS_MAX: '5' });
    owner = await createUser(t, 'owner');
    u = await Promise.all(Array.from({ length: 6 }, (_, i) => createUser(t, `m${i}`)));
  });
  afterEach(() => closeAllSockets());
  afterAll(() => t.close());

  const add = (room: number, users: TestUser[], by = owner) =>
    t
      .http()
      .post(`/chatrooms/${room}/members`)
      .set(auth(by))
      .send({ userIds: users.map((x) => x.id) });

  it('refuses a group created with more members than the cap, and creates nothing', async () => {
    const res = await t
      .http()
      .post('/chatrooms')
      .set(auth(owner))
      .send({ name: 'too big', memberIds: u.slice(0, 5).map((x) => x.id) });
    expect([res.status, res.body]).toEqual([
      409,
      {
        statusCode: 409,
        code: 'CONFLICT',
        message: 'A room may have at most 5 members, and this one would have 6',
        details: [{ field: 'memberIds', errors: ['would make the room 6 members, more than the 5 a room may have'] }],
      },
    ]);
    expect(await sql("SELECT id FROM chatrooms WHERE name = 'too big'")).toEqual([]);
    // Exactly the cap fits; repeated ids and the creator's own id are no extra members.
    const ids = [u[0], u[0], u[1], u[2], u[3], owner].map((x) => x.id);
    const fits = await t.http().post('/chatrooms').set(auth(owner)).send({ name: 'full', memberIds: ids });
    expect(fits.status).toBe(201);
    expect(await memberCount(fits.body.id)).toBe(5);
  });

  it('refuses an add past the cap, saying how many the room has and the cap; re-adding members is fine', async () => {
    const room = await createRoom(t, owner, [u[0], u[1]], 'adds');
    const over = await add(room, [u[2], u[3], u[4]]);
    expect([over.status, over.body]).toEqual([
      409,
      {
        statusCode: 409,
        code: 'CONFLICT',
        message: 'The room has 3 members, the most a room may have is 5: 2 more fit, not 3',
        details: [{ field: 'userIds', errors: ['would make the room 6 members, more than the 5 a room may have'] }],
      },
    ]);
    expect(await memberCount(room)).toBe(3); // nothing half done
    // A member named again is no new member: two new ones and one old one fit.
    expect((await add(room, [u[2], u[3], u[0]])).status).toBe(200);
    expect(await memberCount(room)).toBe(5);
    expect((await add(room, [u[0], u[1]])).status).toBe(200);
    const full = await add(room, [u[4]]);
    expect([full.status, full.body.code, full.body.message]).toEqual([
      409,
      'CONFLICT',
      'The room has 5 members, the most a room may have is 5: no more fit',
    ]);
  });

  it('lets concurrent adds together fill the room to the cap, never past it', async () => {
    const room = await createRoom(t, owner, [], 'race');
    // Six adds of one user each at once, into a room of one: four fit.
    const answers = await Promise.all(u.slice(0, 6).map((x) => add(room, [x])));
    const statuses = answers.map((r) => r.status).sort();
    expect(statuses).toEqual([200, 200, 200, 200, 409, 409]);
    expect(await memberCount(room)).toBe(5);
    for (const r of answers.filter((a) => a.status === 409)) {
      expect(r.body.message).toBe('The room has 5 members, the most a room may have is 5: no more fit');
    }
  });

  it('keeps a room at the cap working: members send, one leaves, then an add fits again', async () => {
    const room = await createRoom(t, owner, u.slice(0, 4), 'at cap');
    expect(await memberCount(room)).toBe(5);
    const s = await connect(t.url, u[0].token);
    const ack = await emitAck(s, 'sendMessage', { chatroomId: room, message: { type: 'text', content: 'still here' } });
    expect(ack.ok).toBe(true);
    const detail = await t.http().get(`/chatrooms/${room}`).set(auth(u[1]));
    expect([detail.status, detail.body.members.length]).toEqual([200, 5]);
    expect((await add(room, [u[4]])).status).toBe(409);
    expect((await t.http().delete(`/chatrooms/${room}/members/${u[3].id}`).set(auth(u[3]))).status).toBe(204);
    const again = await add(room, [u[4]]);
    expect([again.status, again.body.members.length]).toEqual([200, 5]);
    expect((await add(room, [u[5]])).status).toBe(409);
  });
});

/**
 * A read that lists a room's members costs one more REST request per 50 of them, as lists of
 * a user's rooms do: within the per-user budget, a loop over a 30,001-member room's detail
 * pushed another user's socket acks to a p99 of 940 ms. A budget of 20 here, and a room of
 * 151 members: each such read costs 1 + 3.
 */
describe('member lists charged to REST_REQUESTS_PER_MIN (e2e)', () => {
  let t: TestApp;
  let big: number;
  let owner: TestUser, reader: TestUser, sender: TestUser, calm: TestUser, moderator: TestUser;
  let small: number;

  beforeAll(async () => {
    await resetState();
    t = await startApp({ REST_REQUESTS_PER_MIN: '20' });
    [owner, reader, sender, calm, moderator] = await Promise.all(
      ['bigowner', 'reader', 'sender', 'calm', 'moderator'].map((n) => createUser(t, n)),
    );
    await sql("UPDATE users SET role = 'admin' WHERE id = $1", [moderator.id]);
    // The room and its 148 other members made in SQL, so that making them spends no budget.
    [{ id: big }] = await sql<{ id: number }>(
      "INSERT INTO chatrooms (name, type, created_by_id) VALUES ('big', 'group', $1) RETURNING id",
      [owner.id],
    );
    await sql(
      `WITH u AS (INSERT INTO users (username, password_hash, updated_at)
                  SELECT 'filler_' || g, 'x', now() FROM generate_series(1, 148) g RETURNING id)
       INSERT INTO chatroom_members (chatroom_id, user_id, role)
       SELECT $1::int, id, (CASE WHEN id = $2::int THEN 'owner' ELSE 'member' END)::"MemberRole"
         FROM (SELECT id FROM u UNION ALL SELECT unnest($3::int[])) m`,
      [big, owner.id, [owner.id, reader.id, sender.id]],
    );
    [{ id: small }] = await sql<{ id: number }>(
      "INSERT INTO chatrooms (name, type, created_by_id) VALUES ('small', 'group', $1) RETURNING id",
      [calm.id],
    );
    await sql("INSERT INTO chatroom_members (chatroom_id, user_id, role) VALUES ($1, $2, 'owner')", [small, calm.id]);
    expect(await memberCount(big)).toBe(151);
  });
  afterEach(() => closeAllSockets());
  afterAll(() => t.close());

  it("charges GET /chatrooms/:id 1 + 3 for a room of 151 members; a small room's detail costs one", async () => {
    const reads = await untilRefused(() => t.http().get(`/chatrooms/${big}`).set(auth(reader)));
    // 20 a minute: five reads of 4, then refused (with what refilled meanwhile, at most one more).
    expect(reads).toBeGreaterThanOrEqual(5);
    expect(reads).toBeLessThanOrEqual(6);
    for (let i = 0; i < 20; i++) expect((await t.http().get(`/chatrooms/${small}`).set(auth(calm))).status).toBe(200);
  });

  it('charges the answer of POST /chatrooms/:id/members as one read of the room', async () => {
    const adds = await untilRefused(() =>
      t
        .http()
        .post(`/chatrooms/${big}/members`)
        .set(auth(owner))
        .send({ userIds: [reader.id] }),
    );
    expect(adds).toBeGreaterThanOrEqual(5);
    expect(adds).toBeLessThanOrEqual(6);
  });

  it('charges GET /messages/:id/receipts 1 + 3 for 150 other members', async () => {
    const s = await connect(t.url, sender.token);
    const ack = await emitAck(s, 'sendMessage', {
      chatroomId: big,
      message: { type: 'text', content: 'who read it?' },
    });
    expect(ack.ok).toBe(true);
    const first = await t.http().get(`/messages/${ack.data.id}/receipts`).set(auth(sender));
    expect([first.status, first.body.length]).toEqual([200, 150]);
    const reads = 1 + (await untilRefused(() => t.http().get(`/messages/${ack.data.id}/receipts`).set(auth(sender))));
    expect(reads).toBeGreaterThanOrEqual(5);
    expect(reads).toBeLessThanOrEqual(6);
  });

  it("charges an admin's GET /admin/messages/:id 1 + 3 for its 150 receipts, as the receipts route", async () => {
    const s = await connect(t.url, sender.token);
    const ack = await emitAck(s, 'sendMessage', {
      chatroomId: big,
      message: { type: 'text', content: 'moderate me' },
    });
    expect(ack.ok).toBe(true);
    const first = await t.http().get(`/admin/messages/${ack.data.id}`).set(auth(moderator));
    expect([first.status, first.body.receipts.length]).toEqual([200, 150]);
    const reads = 1 + (await untilRefused(() => t.http().get(`/admin/messages/${ack.data.id}`).set(auth(moderator))));
    expect(reads).toBeGreaterThanOrEqual(5);
    expect(reads).toBeLessThanOrEqual(6);
  });
});
