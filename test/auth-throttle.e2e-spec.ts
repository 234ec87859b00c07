import { expectRateLimited, flushTestRedis, resetState, sql, startApp, TestApp } from './utils/app';
import { auth, createUser, TestUser } from './utils/users';

const PASSWORD = 'correct horse battery';

/** Anti-automation budgets, counted in Redis: two instances share them. */
describe('login and registration throttling (e2e)', () => {
  describe('failed logins per account (default budget: 10 per 15 minutes)', () => {
    let a: TestApp, b: TestApp;
    let victim: TestUser;

    beforeAll(async () => {
      await resetState();
      [a, b] = await Promise.all([startApp(), startApp()]);
    });
    beforeEach(async () => {
      await flushTestRedis();
      victim = await createUser(a, 'victim');
    });
    afterAll(() => Promise.all([a?.close(), b?.close()]));

    const attempt = (t: TestApp, password: string, username = victim.username) =>
      t.http().post('/auth/login').send({ username, password });

    it('answers the 11th failed login with 429 and Retry-After, even with the right password', async () => {
      for (let i = 0; i < 10; i++) expect((await attempt(a, `wrong-${i}`)).status).toBe(401);
      const eleventh = await attempt(a, 'wrong-10');
      expectRateLimited(eleventh);
      expect(Number(eleventh.headers['retry-after'])).toBeGreaterThan(800); // ~15 minutes
      expectRateLimited(await attempt(a, PASSWORD));
      // Only this account: another one logs in from the same address.
      const other = await createUser(a, 'bystander');
      expect((await attempt(a, PASSWORD, other.username)).status).toBe(200);
    });

    it('counts one budget per account whatever the case the name is typed in', async () => {
      const upper = victim.username.toUpperCase();
      expect(upper).not.toBe(victim.username);
      for (let i = 0; i < 10; i++) {
        expect((await attempt(a, `wrong-${i}`, i % 2 ? upper : victim.username)).status).toBe(401);
      }
      expectRateLimited(await attempt(a, PASSWORD, upper));
      expectRateLimited(await attempt(a, PASSWORD, victim.username));
    });

    it('does not take a name with a non-ASCII letter that folds to the account (no second budget)', async () => {
      // PostgreSQL's lower() folds U+0130 to "i" under a libc locale; JavaScript's toLowerCase does not.
      const dotted = victim.username.replace('i', '\u0130');
      expect(dotted).not.toBe(victim.username);
      for (let i = 0; i < 10; i++) expect((await attempt(a, `wrong-${i}`)).status).toBe(401);
      expectRateLimited(await attempt(a, PASSWORD));
      expect((await attempt(a, PASSWORD, dotted)).status).toBe(401);
    });

    it('counts failures on every instance together', async () => {
      for (let i = 0; i < 5; i++) expect((await attempt(a, 'wrong')).status).toBe(401);
      for (let i = 0; i < 5; i++) expect((await attempt(b, 'wrong')).status).toBe(401);
      expectRateLimited(await attempt(a, 'wrong'));
      expectRateLimited(await attempt(b, PASSWORD));
    });

    it('does not count successful logins, and a success clears the failures', async () => {
      for (let i = 0; i < 9; i++) expect((await attempt(a, 'wrong')).status).toBe(401);
      expect((await attempt(b, PASSWORD)).status).toBe(200);
      for (let i = 0; i < 9; i++) expect((await attempt(a, 'wrong')).status).toBe(401);
      for (let i = 0; i < 3; i++) expect((await attempt(b, PASSWORD)).status).toBe(200);
    });

    it('counts wrong current passwords on PATCH /users/me/password against the same budget', async () => {
      for (let i = 0; i < 10; i++) {
        const res = await a
          .http()
          .patch('/users/me/password')
          .set(auth(victim))
          .send({ currentPassword: `wrong-${i}`, newPassword: 'whatever-new' });
        expect(res.status).toBe(400);
      }
      const locked = await b
        .http()
        .patch('/users/me/password')
        .set(auth(victim))
        .send({ currentPassword: PASSWORD, newPassword: 'whatever-new' });
      expectRateLimited(locked);
      expectRateLimited(await attempt(a, PASSWORD));
    });
  });

  describe('attempts per client address', () => {
    let t: TestApp, u: TestApp;

    beforeAll(async () => {
      await resetState();
      [t, u] = await Promise.all([
        startApp({ AUTH_ATTEMPTS_PER_IP: '6', AUTH_IP_WINDOW_S: '60' }),
        startApp({ AUTH_ATTEMPTS_PER_IP: '6', AUTH_IP_WINDOW_S: '60', TRUST_PROXY: 'true' }),
      ]);
    });
    beforeEach(flushTestRedis);
    afterAll(() => Promise.all([t?.close(), u?.close()]));

    const register = (app: TestApp, i: number, forwardedFor?: string) => {
      const req = app.http().post('/auth/register');
      if (forwardedFor) void req.set('X-Forwarded-For', forwardedFor);
      return req.send({ username: `reg_${Date.now() % 100000}_${i}`, password: PASSWORD });
    };

    it('throttles registrations and logins together from one address', async () => {
      for (let i = 0; i < 4; i++) expect((await register(t, i)).status).toBe(201);
      expect((await t.http().post('/auth/login').send({ username: 'nobody', password: 'x' })).status).toBe(401);
      expect((await t.http().post('/auth/login').send({ username: 'nobody', password: 'x' })).status).toBe(401);
      const seventh = await register(t, 7);
      expectRateLimited(seventh);
      expect(Number(seventh.headers['retry-after'])).toBeLessThanOrEqual(60);
      expectRateLimited(await t.http().post('/auth/login').send({ username: 'nobody', password: 'x' }));
    });

    it('counts password changes against the same budget (each hashes twice)', async () => {
      const username = `pw_${Date.now() % 100000}`;
      expect((await t.http().post('/auth/register').send({ username, password: PASSWORD })).status).toBe(201);
      const { accessToken } = (await t.http().post('/auth/login').send({ username, password: PASSWORD })).body;
      const change = (currentPassword: string, newPassword: string) =>
        t.http().patch('/users/me/password').set('Authorization', `Bearer ${accessToken}`).send({
          currentPassword,
          newPassword,
        });
      let current = PASSWORD;
      for (let i = 0; i < 4; i++) {
        expect((await change(current, `${PASSWORD} ${i}`)).status).toBe(204);
        current = `${PASSWORD} ${i}`;
      }
      expectRateLimited(await change(current, `${PASSWORD} again`)); // the seventh attempt of the address
      expectRateLimited(await t.http().post('/auth/login').send({ username, password: current }));
    });

    it('ignores X-Forwarded-For unless TRUST_PROXY says the proxy may set it', async () => {
      for (let i = 0; i < 6; i++) expect((await register(t, 100 + i, `203.0.113.${i}`)).status).toBe(201);
      expectRateLimited(await register(t, 200, '203.0.113.99'));
      // Behind a trusted proxy each client address has its own budget.
      for (let i = 0; i < 6; i++) expect((await register(u, 300 + i, '198.51.100.1')).status).toBe(201);
      expectRateLimited(await register(u, 400, '198.51.100.1'));
      expect((await register(u, 401, '198.51.100.2')).status).toBe(201);
    });
  });

  it('limits authenticated REST requests per user (REST_REQUESTS_PER_MIN)', async () => {
    await resetState();
    const t = await startApp({ REST_REQUESTS_PER_MIN: '5' });
    try {
      const user = await createUser(t, 'busy');
      const other = await createUser(t, 'calm');
      for (let i = 0; i < 5; i++) expect((await t.http().get('/users/me').set(auth(user))).status).toBe(200);
      expectRateLimited(await t.http().get('/users/me').set(auth(user)));
      expect((await t.http().get('/users/me').set(auth(other))).status).toBe(200);
    } finally {
      await t.close();
    }
  });

  it('charges a list of all my rooms one more request per 50 rooms (GET /chatrooms, GET /inbox)', async () => {
    await resetState();
    const t = await startApp({ REST_REQUESTS_PER_MIN: '20' });
    try {
      const [many, few] = [await createUser(t, 'manyrooms'), await createUser(t, 'fewrooms')];
      // 150 rooms, made in SQL: three more requests per list.
      await sql(
        `WITH r AS (INSERT INTO chatrooms (name, type, created_by_id)
                    SELECT 'r' || g, 'group', $1 FROM generate_series(1, 150) g RETURNING id)
         INSERT INTO chatroom_members (chatroom_id, user_id, role) SELECT id, $1, 'owner' FROM r`,
        [many.id],
      );
      const lists: number[] = [];
      for (let i = 0; i < 10; i++) {
        lists.push(
          (
            await t
              .http()
              .get(i % 2 ? '/inbox' : '/chatrooms')
              .set(auth(many))
          ).status,
        );
        if (lists[i] !== 200) break;
      }
      // 20 a minute: five lists of 1 + 3, then refused (with what refilled meanwhile, at most one more).
      expect(lists.filter((s) => s === 200).length).toBeGreaterThanOrEqual(5);
      expect(lists.filter((s) => s === 200).length).toBeLessThanOrEqual(6);
      expect(lists.at(-1)).toBe(429);
      // A user with few rooms pays one request per list, as before.
      for (let i = 0; i < 20; i++) expect((await t.http().get('/chatrooms').set(auth(few))).status).toBe(200);
    } finally {
      await t.close();
    }
  });
});
