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
