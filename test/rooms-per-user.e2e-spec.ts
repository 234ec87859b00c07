import { resetState, startApp, TestApp } from './utils/app';
import { auth, createRoom, createUser, TestUser } from './utils/users';

/**
 * Anyone may add anyone to a room: without a cap, others could put a user in any number of
 * rooms (a probe put 1,200 on one), and the user's room list, inbox and reconnects would grow
 * with it. ROOMS_PER_USER_MAX (3 here) holds on every way into a room.
 */
describe('ROOMS_PER_USER_MAX (e2e)', () => {
  let t: TestApp;
  let mallory: TestUser, victim: TestUser, carol: TestUser;

  beforeAll(async () => {
    await resetState();
    t = await startApp({ ROOMS_PER_USER_MAX: '3' });
    [mallory, victim, carol] = await Promise.all(['mallory', 'victim', 'carol'].map((n) => createUser(t, n)));
  });
  afterAll(() => t.close());

  const refusal = (ids: number[], field: string) => ({
    statusCode: 409,
    code: 'CONFLICT',
    message: expect.stringMatching(/in 3 rooms, the most one may be in/),
    details: [{ field, errors: ids.map((id) => `user ${id} is in 3 rooms, the most one may be in`) }],
  });

  it('refuses a fourth room for a user others keep adding, on every way in, and names them', async () => {
    const rooms = [];
    for (let i = 0; i < 3; i++) rooms.push(await createRoom(t, carol, [victim], `r${i}`));
    // A new group naming the victim, a group adding them, a direct room with them.
    const created = await t
      .http()
      .post('/chatrooms')
      .set(auth(mallory))
      .send({ name: 'x', memberIds: [victim.id] });
    expect([created.status, created.body]).toEqual([409, refusal([victim.id], 'memberIds')]);
    const own = await t.http().post('/chatrooms').set(auth(mallory)).send({ name: 'mine' });
    expect(own.status).toBe(201);
    const added = await t
      .http()
      .post(`/chatrooms/${own.body.id}/members`)
      .set(auth(mallory))
      .send({ userIds: [victim.id] });
    expect([added.status, added.body]).toEqual([409, refusal([victim.id], 'userIds')]);
    const direct = await t.http().post('/chatrooms/direct').set(auth(mallory)).send({ userId: victim.id });
    expect([direct.status, direct.body]).toEqual([409, refusal([victim.id], 'userId')]);
    // Nothing was half done: the victim is in exactly the three rooms.
    const mine = await t.http().get('/chatrooms').set(auth(victim));
    expect(mine.body.map((r: any) => r.id).sort()).toEqual([...rooms].sort());
    // Re-adding a member who is in the room already is no new room for them.
    const again = await t
      .http()
      .post(`/chatrooms/${rooms[0]}/members`)
      .set(auth(carol))
      .send({ userIds: [victim.id] });
    expect(again.status).toBe(200);
    // Leaving one makes room for one.
    expect((await t.http().delete(`/chatrooms/${rooms[0]}/members/${victim.id}`).set(auth(victim))).status).toBe(204);
    const now = await t
      .http()
      .post(`/chatrooms/${own.body.id}/members`)
      .set(auth(mallory))
      .send({ userIds: [victim.id] });
    expect(now.status).toBe(200);
  });

  it('holds for the caller too: a creator at the limit is told to leave a room first', async () => {
    const creator = await createUser(t, 'creator');
    for (let i = 0; i < 3; i++) await createRoom(t, creator, [], `c${i}`);
    const res = await t.http().post('/chatrooms').set(auth(creator)).send({ name: 'one more' });
    expect([res.status, res.body.code, res.body.message]).toEqual([
      409,
      'CONFLICT',
      'You are in 3 rooms, the most one may be in: leave one first',
    ]);
  });
});

/**
 * A tenth of ROOMS_PER_USER_MAX is kept for the rooms a user makes themselves. A probe filled
 * other users' rooms up to the cap with rooms of its own and left each one: the victims could
 * then neither create a room, start a direct room, nor be added anywhere.
 */
describe('ROOMS_PER_USER_MAX keeps a tenth for the user (e2e)', () => {
  let t: TestApp;
  let mallory: TestUser, victim: TestUser, friend: TestUser;

  beforeAll(async () => {
    await resetState();
    t = await startApp({ ROOMS_PER_USER_MAX: '10' });
    [mallory, victim, friend] = await Promise.all(['rmallory', 'rvictim', 'rfriend'].map((n) => createUser(t, n)));
  });
  afterAll(() => t.close());

  it('lets others fill 9 of 10 rooms; the victim still creates rooms and starts direct rooms up to 10', async () => {
    // Mallory fills the victim up, leaving each room so that her own count stays low.
    for (let i = 0; i < 9; i++) {
      const room = await createRoom(t, mallory, [victim], `spam${i}`);
      expect((await t.http().delete(`/chatrooms/${room}/members/${mallory.id}`).set(auth(mallory))).status).toBe(204);
    }
    const tenth = await t
      .http()
      .post('/chatrooms')
      .set(auth(mallory))
      .send({ name: 'spam9', memberIds: [victim.id] });
    expect([tenth.status, tenth.body]).toEqual([
      409,
      {
        statusCode: 409,
        code: 'CONFLICT',
        message: `User ${victim.id} is in as many rooms as others may add them to`,
        details: [
          {
            field: 'memberIds',
            errors: [
              `user ${victim.id} is in 9 rooms, the most others may add them to (the rest, up to 10, are for rooms they start)`,
            ],
          },
        ],
      },
    ]);
    // A friend cannot add the victim either, nor start a direct room with them...
    const byFriend = await t.http().post('/chatrooms/direct').set(auth(friend)).send({ userId: victim.id });
    expect(byFriend.status).toBe(409);
    // ...but the victim starts one with the friend: the tenth room is theirs to take.
    const own = await t.http().post('/chatrooms/direct').set(auth(victim)).send({ userId: friend.id });
    expect(own.status).toBe(201);
    // And at ten, the victim is at the cap as anyone is.
    const eleventh = await t.http().post('/chatrooms').set(auth(victim)).send({ name: 'mine' });
    expect([eleventh.status, eleventh.body.message]).toEqual([
      409,
      'You are in 10 rooms, the most one may be in: leave one first',
    ]);
    const mine = await t.http().get('/chatrooms').set(auth(victim));
    expect(mine.body).toHaveLength(10);
    // Full, the victim is refused to others as anyone at the cap is (a probe read "they may
    // join 1 more themselves" here, and each user's exact count).
    const full = await t
      .http()
      .post('/chatrooms')
      .set(auth(mallory))
      .send({ name: 'spam10', memberIds: [victim.id] });
    expect(full.body).toEqual({
      statusCode: 409,
      code: 'CONFLICT',
      message: `User ${victim.id} is in 10 rooms, the most one may be in`,
      details: [{ field: 'memberIds', errors: [`user ${victim.id} is in 10 rooms, the most one may be in`] }],
    });
  });
});
