import { resetState, sql, startApp, TestApp } from './utils/app';
import { auth, createRoom, createUser, TestUser } from './utils/users';

describe('chatrooms (e2e)', () => {
  let t: TestApp;
  let owner: TestUser, bob: TestUser, carol: TestUser, dave: TestUser;

  beforeAll(async () => {
    await resetState();
    t = await startApp();
    [owner, bob, carol, dave] = await Promise.all(['owner', 'bob', 'carol', 'dave'].map((n) => createUser(t, n)));
  });
  afterAll(() => t.close());

  describe('POST /chatrooms', () => {
    it('validates the body', async () => {
      const res = await t
        .http()
        .post('/chatrooms')
        .set(auth(owner))
        .send({ name: '', memberIds: ['x'] });
      expect(res.status).toBe(400);
      expect(res.body.details.map((d: { field: string }) => d.field).sort()).toEqual(['memberIds', 'name']);
    });

    it('refuses a blank name, and keeps the spaces of a real one', async () => {
      for (const name of [' ', '\t\n', '\u00a0\u3000', '\u200b\u200c\u200d\ufeff']) {
        const res = await t.http().post('/chatrooms').set(auth(owner)).send({ name });
        expect([name, res.status, res.body.code, res.body.details]).toEqual([
          name,
          400,
          'VALIDATION_FAILED',
          [{ field: 'name', errors: ['name must not be blank (only whitespace)'] }],
        ]);
      }
      const ok = await t.http().post('/chatrooms').set(auth(owner)).send({ name: ' team\u3000' });
      expect([ok.status, ok.body.name]).toEqual([201, ' team\u3000']);
    });

    it('404s for unknown member ids', async () => {
      const res = await t
        .http()
        .post('/chatrooms')
        .set(auth(owner))
        .send({ name: 'x', memberIds: [99999] });
      expect(res.status).toBe(404);
    });

    it('creates a group room whose creator is its owner', async () => {
      const res = await t
        .http()
        .post('/chatrooms')
        .set(auth(owner))
        .send({ name: 'general', memberIds: [bob.id] });
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({ name: 'general', type: 'group', memberCount: 2, lastSeq: 0, unreadCount: 0 });
      const detail = await t.http().get(`/chatrooms/${res.body.id}`).set(auth(owner));
      expect(detail.status).toBe(200);
      const roles = Object.fromEntries(detail.body.members.map((m: any) => [m.user.id, m.role]));
      expect(roles).toEqual({ [owner.id]: 'owner', [bob.id]: 'member' });
    });
  });

  it('GET /chatrooms lists only my rooms', async () => {
    const mine = await createRoom(t, carol, [], 'carol-only');
    const res = await t.http().get('/chatrooms').set(auth(carol));
    expect(res.status).toBe(200);
    expect(res.body.map((r: { id: number }) => r.id)).toEqual([mine]);
  });

  it('a non-member gets 404 for a room (rooms are not enumerable)', async () => {
    const room = await createRoom(t, owner, [bob]);
    const res = await t.http().get(`/chatrooms/${room}`).set(auth(dave));
    expect(res.status).toBe(404);
    expect(res.body.code).toBe('NOT_FOUND');
    expect((await t.http().get('/chatrooms/987654').set(auth(dave))).status).toBe(404);
  });

  describe('POST /chatrooms/direct', () => {
    it('creates the room of a pair once, even under two concurrent calls', async () => {
      const [a, b] = await Promise.all([
        t.http().post('/chatrooms/direct').set(auth(carol)).send({ userId: dave.id }),
        t.http().post('/chatrooms/direct').set(auth(dave)).send({ userId: carol.id }),
      ]);
      expect([a.status, b.status].sort()).toEqual([200, 201]);
      expect(a.body.id).toBe(b.body.id);
      expect(a.body.type).toBe('direct');
      const again = await t.http().post('/chatrooms/direct').set(auth(carol)).send({ userId: dave.id });
      expect(again.status).toBe(200);
      expect(again.body.id).toBe(a.body.id);
      const [{ n }] = await sql<{ n: number }>(
        "SELECT count(*)::int AS n FROM chatrooms WHERE type = 'direct' AND direct_key = $1",
        [[carol.id, dave.id].sort((x, y) => x - y).join(':')],
      );
      expect(n).toBe(1);
    });

    it('refuses a direct room with yourself or an unknown user', async () => {
      expect((await t.http().post('/chatrooms/direct').set(auth(carol)).send({ userId: carol.id })).status).toBe(400);
      expect((await t.http().post('/chatrooms/direct').set(auth(carol)).send({ userId: 424242 })).status).toBe(404);
    });
  });

  describe('members', () => {
    let room: number;
    beforeEach(async () => {
      room = await createRoom(t, owner, [bob]);
    });

    it('403s when a plain member adds people', async () => {
      const res = await t
        .http()
        .post(`/chatrooms/${room}/members`)
        .set(auth(bob))
        .send({ userIds: [carol.id] });
      expect(res.status).toBe(403);
      expect(res.body.code).toBe('FORBIDDEN');
    });

    it('404s when a non-member adds people', async () => {
      const res = await t
        .http()
        .post(`/chatrooms/${room}/members`)
        .set(auth(dave))
        .send({ userIds: [dave.id] });
      expect(res.status).toBe(404);
    });

    it('lets the owner add members (idempotently)', async () => {
      const res = await t
        .http()
        .post(`/chatrooms/${room}/members`)
        .set(auth(owner))
        .send({ userIds: [carol.id, bob.id] });
      expect(res.status).toBe(200);
      expect(res.body.members.map((m: any) => m.user.id).sort()).toEqual([owner.id, bob.id, carol.id].sort());
    });

    it('lets a member leave, after which the room is 404 to them', async () => {
      const res = await t.http().delete(`/chatrooms/${room}/members/${bob.id}`).set(auth(bob));
      expect(res.status).toBe(204);
      expect((await t.http().get(`/chatrooms/${room}`).set(auth(bob))).status).toBe(404);
    });

    it('403s when a plain member removes someone else; the owner may', async () => {
      await t
        .http()
        .post(`/chatrooms/${room}/members`)
        .set(auth(owner))
        .send({ userIds: [carol.id] });
      expect((await t.http().delete(`/chatrooms/${room}/members/${carol.id}`).set(auth(bob))).status).toBe(403);
      expect((await t.http().delete(`/chatrooms/${room}/members/${carol.id}`).set(auth(owner))).status).toBe(204);
      expect((await t.http().delete(`/chatrooms/${room}/members/${carol.id}`).set(auth(owner))).status).toBe(404);
    });

    it('hands ownership over when the owner leaves', async () => {
      expect((await t.http().delete(`/chatrooms/${room}/members/${owner.id}`).set(auth(owner))).status).toBe(204);
      const detail = await t.http().get(`/chatrooms/${room}`).set(auth(bob));
      expect(detail.body.members).toEqual([
        expect.objectContaining({ role: 'owner', user: expect.objectContaining({ id: bob.id }) }),
      ]);
    });
  });

  describe('ownership', () => {
    /** Users created one after another, so their ids go up in this order. */
    const inOrder = async (n: number, prefix: string) => {
      const users: TestUser[] = [];
      for (let i = 0; i < n; i++) users.push(await createUser(t, `${prefix}${i}`));
      return users;
    };
    const rolesIn = async (room: number, viewer: TestUser) => {
      const res = await t.http().get(`/chatrooms/${room}`).set(auth(viewer));
      expect(res.status).toBe(200);
      return Object.fromEntries(res.body.members.map((m: any) => [m.user.id, m.role]));
    };

    it('passes to a room admin first, else to the earliest-joined member, ties by lowest user id', async () => {
      const [u1, u2, u3, u4, u5] = await inOrder(5, 'heir');
      // u3 and u2 join with the room, in one instant; u1 (lowest id) joins later; u5 last, as a room admin.
      const room = await createRoom(t, u4, [u3, u2]);
      for (const u of [u1, u5]) {
        const added = await t
          .http()
          .post(`/chatrooms/${room}/members`)
          .set(auth(u4))
          .send({ userIds: [u.id] });
        expect(added.status).toBe(200);
      }
      await sql(`UPDATE chatroom_members SET role = 'admin' WHERE chatroom_id = $1 AND user_id = $2`, [room, u5.id]);

      expect((await t.http().delete(`/chatrooms/${room}/members/${u4.id}`).set(auth(u4))).status).toBe(204);
      expect(await rolesIn(room, u1)).toEqual({
        [u5.id]: 'owner',
        [u2.id]: 'member',
        [u3.id]: 'member',
        [u1.id]: 'member',
      });
      // No admin left: the earliest joined, of those who joined together the lowest id.
      expect((await t.http().delete(`/chatrooms/${room}/members/${u5.id}`).set(auth(u5))).status).toBe(204);
      expect(await rolesIn(room, u1)).toEqual({ [u2.id]: 'owner', [u3.id]: 'member', [u1.id]: 'member' });
      // The new owner has the owner's powers; leaving in turn hands over again.
      expect((await t.http().delete(`/chatrooms/${room}/members/${u1.id}`).set(auth(u2))).status).toBe(204);
      expect((await t.http().delete(`/chatrooms/${room}/members/${u2.id}`).set(auth(u2))).status).toBe(204);
      expect(await rolesIn(room, u3)).toEqual({ [u3.id]: 'owner' });
    });

    it('keeps exactly one owner when the owner and the next in line leave at once', async () => {
      const [p1, p2, p3, p4] = await inOrder(4, 'race');
      const rooms = await Promise.all(Array.from({ length: 8 }, () => createRoom(t, p1, [p4, p3, p2])));
      // One joining order, p1 to p4, that no tie-break decides: only the race is left to test.
      await sql(
        `UPDATE chatroom_members SET joined_at = joined_at + (user_id - $2) * interval '1 second'
          WHERE chatroom_id = ANY($1::int[])`,
        [rooms, p1.id],
      );
      const leaves = await Promise.all(
        rooms.flatMap((room) =>
          [p1, p2].map((u) => t.http().delete(`/chatrooms/${room}/members/${u.id}`).set(auth(u))),
        ),
      );
      const owners = await sql<{ chatroom_id: number; owners: number[] }>(
        `SELECT chatroom_id, array_agg(user_id ORDER BY user_id) AS owners FROM chatroom_members
          WHERE chatroom_id = ANY($1::int[]) AND role = 'owner' GROUP BY chatroom_id ORDER BY chatroom_id`,
        [rooms],
      );
      const expected = [...rooms].sort((a, b) => a - b).map((room) => ({ chatroom_id: room, owners: [p3.id] }));
      expect(owners).toEqual(expected);
      expect(leaves.map((r) => r.status)).toEqual(leaves.map(() => 204));
      for (const room of rooms) expect(await rolesIn(room, p4)).toEqual({ [p3.id]: 'owner', [p4.id]: 'member' });
    });

    it('never leaves a room with members and no owner when its only member adds someone while leaving', async () => {
      const [solo, guest] = await inOrder(2, 'addleave');
      const rooms = await Promise.all(Array.from({ length: 12 }, () => createRoom(t, solo, [])));
      const results = await Promise.all(
        rooms.flatMap((room) => [
          t
            .http()
            .post(`/chatrooms/${room}/members`)
            .set(auth(solo))
            .send({ userIds: [guest.id] }),
          t.http().delete(`/chatrooms/${room}/members/${solo.id}`).set(auth(solo)),
        ]),
      );
      // The add either went first (the guest inherits the room) or found its caller gone.
      expect(results.filter((r) => ![200, 204, 404].includes(r.status)).map((r) => [r.status, r.body])).toEqual([]);
      const rows = await sql<{ chatroom_id: number; members: number; owners: number }>(
        `SELECT chatroom_id, count(*)::int AS members, count(*) FILTER (WHERE role = 'owner')::int AS owners
           FROM chatroom_members WHERE chatroom_id = ANY($1::int[]) GROUP BY chatroom_id`,
        [rooms],
      );
      for (const r of rows) expect([r.chatroom_id, r.owners]).toEqual([r.chatroom_id, 1]);
    });
  });

  it('GET /users/:id shows another user without email or role', async () => {
    const res = await t.http().get(`/users/${bob.id}`).set(auth(carol));
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      id: bob.id,
      username: bob.username,
      nickName: bob.username,
      headPic: '',
      createdAt: expect.any(String),
    });
  });
});
