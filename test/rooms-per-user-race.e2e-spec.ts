import { resetState, sql, startApp, TestApp } from './utils/app';
import { auth, createRoom, createUser, type TestUser } from './utils/users';

/** Rooms left without members: what a refused create must not leave behind. */
const roomsWithoutMembers = () =>
  sql('SELECT id FROM chatrooms c WHERE NOT EXISTS (SELECT 1 FROM chatroom_members m WHERE m.chatroom_id = c.id)');

const roomsOf = async (user: TestUser) =>
  (
    await sql<{ id: number }>('SELECT chatroom_id AS id FROM chatroom_members WHERE user_id = $1 ORDER BY 1', [user.id])
  ).map((r) => r.id);

/**
 * ROOMS_PER_USER_MAX (5 here) under concurrency: counted before the insert without a lock,
 * rooms created in parallel passed it (a probe made 1,178 rooms for one user, the cap at
 * 1,000). Now each user's count and the insert that adds them are one step, on any instance:
 * the requests go to two apps over one database.
 */
describe('ROOMS_PER_USER_MAX under concurrency (e2e)', () => {
  let a: TestApp, b: TestApp;
  const on = (i: number) => (i % 2 ? b : a).http();

  beforeAll(async () => {
    await resetState();
    [a, b] = await Promise.all([startApp({ ROOMS_PER_USER_MAX: '5' }), startApp({ ROOMS_PER_USER_MAX: '5' })]);
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
  });

  /** An app whose request, connection and login limits let a test's burst through to the rooms. */
  const burstApp = (env: Record<string, string> = {}) =>
    startApp({
      REST_REQUESTS_PER_MIN: '100000',
      CONNECTIONS_PER_ADDRESS_MAX: '2000',
      AUTH_ATTEMPTS_PER_IP: '100000',
      ...env,
    });

  const refusal = (id: number, field: string) => ({
    statusCode: 409,
    code: 'CONFLICT',
    message: expect.stringMatching(/in 5 rooms, the most one may be in/),
    details: [{ field, errors: [`user ${id} is in 5 rooms, the most one may be in`] }],
  });

  it('lets exactly the cap of 20 parallel creates by one user through, the rest 409', async () => {
    const solo = await createUser(a, 'solo');
    const res = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        on(i)
          .post('/chatrooms')
          .set(auth(solo))
          .send({ name: `p${i}` }),
      ),
    );
    const statuses = res.map((r) => r.status).sort();
    expect(statuses).toEqual([...Array(5).fill(201), ...Array(15).fill(409)]);
    for (const r of res.filter((x) => x.status === 409)) {
      expect(r.body).toEqual({
        ...refusal(solo.id, 'memberIds'),
        message: 'You are in 5 rooms, the most one may be in: leave one first',
      });
    }
    const created = res.filter((r) => r.status === 201).map((r) => r.body.id as number);
    expect(await roomsOf(solo)).toEqual([...created].sort((x, y) => x - y));
    const listed = await a.http().get('/chatrooms').set(auth(solo));
    expect(listed.body).toHaveLength(5);
    // A refused create left no room behind (a room without members).
    expect(await roomsWithoutMembers()).toEqual([]);
  });

  it('puts a user others add in parallel, on every way in, in exactly the cap of rooms', async () => {
    const victim = await createUser(a, 'victim');
    const owners = await Promise.all(Array.from({ length: 6 }, (_, i) => createUser(a, `owner${i}`)));
    const peers = await Promise.all(Array.from({ length: 6 }, (_, i) => createUser(a, `peer${i}`)));
    const creators = await Promise.all(Array.from({ length: 4 }, (_, i) => createUser(a, `creator${i}`)));
    const rooms = await Promise.all(owners.map((o, i) => createRoom(a, o, [], `g${i}`)));
    type Attempt = { field: string; byVictim?: true; send: () => PromiseLike<{ status: number; body: any }> };
    const attempts: Attempt[] = [
      ...owners.map((o, i) => ({
        field: 'userIds',
        send: () =>
          on(i)
            .post(`/chatrooms/${rooms[i]}/members`)
            .set(auth(o))
            .send({ userIds: [victim.id] }),
      })),
      ...peers.map((p, i) => ({
        field: 'userId',
        send: () =>
          on(i + 1)
            .post('/chatrooms/direct')
            .set(auth(p))
            .send({ userId: victim.id }),
      })),
      // The victim asking for the same pair as peer 0, at once: one room for the pair.
      {
        field: 'userId',
        byVictim: true,
        send: () => on(0).post('/chatrooms/direct').set(auth(victim)).send({ userId: peers[0].id }),
      },
      ...creators.map((c, i) => ({
        field: 'memberIds',
        send: () =>
          on(i)
            .post('/chatrooms')
            .set(auth(c))
            .send({ name: `c${i}`, memberIds: [victim.id] }),
      })),
    ];
    const res = await Promise.all(attempts.map((x) => x.send()));
    expect(res.filter((r) => ![200, 201, 409].includes(r.status)).map((r) => [r.status, r.body])).toEqual([]);
    res.forEach((r, i) => {
      if (r.status === 409) {
        expect(r.body).toEqual(
          attempts[i].byVictim
            ? {
                ...refusal(victim.id, 'userId'),
                message: 'You are in 5 rooms, the most one may be in: leave one first',
              }
            : refusal(victim.id, attempts[i].field),
        );
      }
    });
    // Every room an answer put the victim in, and no other: exactly five.
    const joined = new Set(
      res.flatMap((r, i) => (r.status === 409 ? [] : [i < owners.length ? rooms[i] : (r.body.id as number)])),
    );
    expect(await roomsOf(victim)).toEqual([...joined].sort((x, y) => x - y));
    expect(joined.size).toBe(5);
    const listed = await b.http().get('/chatrooms').set(auth(victim));
    expect(listed.body).toHaveLength(5);
    // Nothing was half done: no room without members, one direct room per pair.
    expect(await roomsWithoutMembers()).toEqual([]);
    expect(await sql("SELECT direct_key FROM chatrooms WHERE type = 'direct' GROUP BY 1 HAVING count(*) > 1")).toEqual(
      [],
    );
  });

  it('keeps a flood of one user’s creates to their own queue: 201 or 429, never 500, others unhurt', async () => {
    // Below the cap, each create waits on the user's row holding a pooled connection. Let
    // through at once, 600 of them held the pool: Prisma could not start others' transactions
    // in time (P2028), a 500 then. Now they run one at a time per user and instance, at most
    // 32 waiting, the rest 429 RATE_LIMITED with retryAfterMs; another user's create passes.
    const app = await burstApp({ ROOMS_PER_USER_MAX: '2000' });
    try {
      const [busy, bystander] = [await createUser(app, 'busy'), await createUser(app, 'bystander')];
      const flood = Promise.all(
        Array.from({ length: 600 }, (_, i) =>
          app
            .http()
            .post('/chatrooms')
            .set(auth(busy))
            .send({ name: `f${i}` }),
        ),
      );
      const other = await app.http().post('/chatrooms').set(auth(bystander)).send({ name: 'mine' });
      expect(other.status).toBe(201);
      const res = await flood;
      const created = res.filter((r) => r.status === 201);
      const refused = res.filter((r) => r.status === 429);
      expect(res.filter((r) => r.status !== 201 && r.status !== 429).map((r) => [r.status, r.body])).toEqual([]);
      expect(created.length).toBeGreaterThanOrEqual(33); // the first and the 32 queued behind it, at least
      expect(refused.length).toBeGreaterThan(0);
      for (const r of refused) {
        expect(r.body).toEqual({
          statusCode: 429,
          code: 'RATE_LIMITED',
          message: 'The server is busy with your earlier room changes: try again shortly',
          details: { retryAfterMs: expect.any(Number) },
        });
      }
      expect(await roomsOf(busy)).toEqual(created.map((r) => r.body.id as number).sort((x, y) => x - y));
    } finally {
      await app.close();
    }
  });

  it('keeps bursts of member changes, by many callers or by one, to a few connections: others still pass', async () => {
    // Each change waits on row or advisory locks holding a pooled connection. Let through at
    // once, 40 callers adding the same 200 users, or one owner's burst of removals, held the
    // pool (10): a bystander's create timed out (503) and their reads waited seconds.
    const app = await burstApp();
    try {
      const callers: TestUser[] = [];
      for (let i = 0; i < 4; i++) {
        callers.push(...(await Promise.all(Array.from({ length: 10 }, (_, j) => createUser(app, `many${i}_${j}`)))));
      }
      const [bystander, owner] = [await createUser(app, 'bystander'), await createUser(app, 'remover')];
      const victims = (
        await sql<{ id: number }>(
          `INSERT INTO users (username, password_hash, updated_at)
           SELECT 'victim_' || g, 'x', now() FROM generate_series(1, 200) g RETURNING id`,
        )
      ).map((r) => r.id);
      const room = await createRoom(app, owner, [], 'removals');
      await sql(`INSERT INTO chatroom_members (chatroom_id, user_id) SELECT $1::int, unnest($2::int[])`, [
        room,
        victims,
      ]);

      // Connections in a member change: in a transaction between statements, or waiting on a
      // lock. Sampled while a burst runs; at most CHANGE_SLOTS (4) of the pool's 10.
      let most = 0;
      let sampling = true;
      const sampler = (async () => {
        while (sampling) {
          const [{ n }] = await sql<{ n: number }>(
            `SELECT count(*)::int AS n FROM pg_stat_activity
              WHERE datname = current_database() AND pid <> pg_backend_pid()
                AND (state = 'idle in transaction' OR wait_event_type = 'Lock')`,
          );
          most = Math.max(most, n);
        }
      })();
      const unhurt = async () => {
        await new Promise((r) => setTimeout(r, 200)); // the burst is under way
        const mine = await app.http().post('/chatrooms').set(auth(bystander)).send({ name: 'mine' });
        const list = await app.http().get('/chatrooms').set(auth(bystander));
        expect([mine.status, list.status]).toEqual([201, 200]);
      };
      const adds = callers.flatMap((c, i) =>
        [0, 1, 2].map((k) =>
          app
            .http()
            .post('/chatrooms')
            .set(auth(c))
            .send({ name: `s${i}-${k}`, memberIds: victims }),
        ),
      );
      await unhurt();
      const added = await Promise.all(adds);
      expect(added.filter((r) => ![201, 429].includes(r.status)).map((r) => [r.status, r.body])).toEqual([]);

      const removals = [...victims, ...victims, ...victims].map((v) =>
        app.http().delete(`/chatrooms/${room}/members/${v}`).set(auth(owner)),
      );
      await unhurt();
      const removed = await Promise.all(removals);
      expect(removed.filter((r) => ![204, 404, 429].includes(r.status)).map((r) => [r.status, r.body])).toEqual([]);
      sampling = false;
      await sampler;
      expect(most).toBeGreaterThan(0); // the sampler saw the bursts
      expect(most).toBeLessThanOrEqual(4);
    } finally {
      await app.close();
    }
  });
});
