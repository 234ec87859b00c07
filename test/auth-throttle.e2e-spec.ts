import { expectRateLimited, flushTestRedis, resetState, sql, startApp, TestApp } from './utils/app';
import { parseMetrics, valueOf } from './utils/metrics';
import { auth, createUser, TestUser } from './utils/users';

const PASSWORD = 'correct horse battery';
/** Client addresses (X-Forwarded-For, TRUST_PROXY): a stranger guessing, and the account's owner. */
const ATTACKER = '203.0.113.66';
const OWNER = '198.51.100.23';

/** Anti-automation budgets, counted in Redis: two instances share them. */
describe('login and registration throttling (e2e)', () => {
  /**
   * Behind a trusted proxy (TRUST_PROXY), so that each request can come from an address of its
   * choosing (X-Forwarded-For): the stranger guessing, and the account's owner.
   */
  describe('failed logins per account and client address (default budget: 10 per 15 minutes)', () => {
    let a: TestApp, b: TestApp;
    let victim: TestUser;

    beforeAll(async () => {
      await resetState();
      [a, b] = await Promise.all([startApp({ TRUST_PROXY: 'true' }), startApp({ TRUST_PROXY: 'true' })]);
    });
    beforeEach(async () => {
      await flushTestRedis();
      victim = await createUser(a, 'victim');
    });
    afterAll(() => Promise.all([a?.close(), b?.close()]));

    const attempt = (t: TestApp, password: string, username = victim.username, from = ATTACKER) =>
      t.http().post('/auth/login').set('X-Forwarded-For', from).send({ username, password });
    const changePassword = (t: TestApp, currentPassword: string, from = ATTACKER) =>
      t
        .http()
        .patch('/users/me/password')
        .set(auth(victim))
        .set('X-Forwarded-For', from)
        .send({ currentPassword, newPassword: 'whatever-new' });

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

    it("locks only the guesser's address out of the account: its owner logs in from another", async () => {
      for (let i = 0; i < 10; i++) expect((await attempt(a, `wrong-${i}`)).status).toBe(401);
      expectRateLimited(await attempt(a, PASSWORD)); // the guesser, even with the right password
      expectRateLimited(await attempt(b, PASSWORD)); // on every instance
      expect((await attempt(b, PASSWORD, victim.username, OWNER)).status).toBe(200);
      expect((await attempt(a, PASSWORD, victim.username.toUpperCase(), OWNER)).status).toBe(200);
      // And the owner's password change: its wrong current password counts at the owner's address.
      expect((await changePassword(a, PASSWORD, OWNER)).status).toBe(204);
      expectRateLimited(await attempt(a, 'whatever-new'));
    });

    it("does not clear another address's count when the account logs in from one", async () => {
      for (let i = 0; i < 9; i++) expect((await attempt(a, `wrong-${i}`)).status).toBe(401);
      expect((await attempt(b, PASSWORD, victim.username, OWNER)).status).toBe(200);
      expect((await attempt(a, 'wrong-9')).status).toBe(401); // the guesser's 10th still counts
      expectRateLimited(await attempt(b, 'wrong-10'));
      expectRateLimited(await attempt(b, PASSWORD));
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
      for (let i = 0; i < 10; i++) expect((await changePassword(a, `wrong-${i}`)).status).toBe(400);
      expectRateLimited(await changePassword(b, PASSWORD));
      expectRateLimited(await attempt(a, PASSWORD));
    });
  });

  describe('failed logins per client address, whatever the accounts (LOGIN_FAILS_PER_IP)', () => {
    let t: TestApp;
    let users: TestUser[];

    beforeAll(async () => {
      await resetState();
      t = await startApp({
        TRUST_PROXY: 'true',
        LOGIN_FAILS_PER_ACCOUNT: '3',
        LOGIN_FAILS_PER_IP: '6',
        LOGIN_FAILS_PER_IP_WINDOW_S: '86400',
      });
    });
    beforeEach(async () => {
      await flushTestRedis();
      users = [await createUser(t, 'first'), await createUser(t, 'second')];
    });
    afterAll(() => t?.close());

    const attempt = (username: string, password: string, from = ATTACKER) =>
      t.http().post('/auth/login').set('X-Forwarded-For', from).send({ username, password });
    const refusals = async () => {
      const m = parseMetrics((await t.http().get('/metrics')).text);
      const scope = (s: string) => valueOf(m, 'chat_rate_limited_total', { scope: s });
      return { ip: scope('login_ip'), account: scope('login_account') };
    };

    it('refuses an address that failed once on each of many accounts, with a day-long Retry-After', async () => {
      // Unknown names count like real ones: one guess each on six accounts, none near its own budget.
      const before = await refusals();
      const names = [users[0].username, 'nobody_1', users[1].username, 'nobody_2', 'nobody_3', 'nobody_4'];
      for (const name of names) expect((await attempt(name, 'wrong')).status).toBe(401);
      const refused = await attempt(users[1].username, PASSWORD);
      expectRateLimited(refused); // even with the right password
      expect(Number(refused.headers['retry-after'])).toBeGreaterThan(86000);
      expectRateLimited(await attempt('nobody_5', 'wrong'));
      // Another address is not concerned.
      expect((await attempt(users[1].username, PASSWORD, OWNER)).status).toBe(200);
      // Counted as the address's budget's refusals, on /metrics.
      const after = await refusals();
      expect([after.ip - before.ip, after.account - before.account]).toEqual([2, 0]);
    });

    it('reserves both budgets atomically: of 20 concurrent guesses on 20 names, at most 6 are checked', async () => {
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => attempt(`burst_${i}`, 'wrong')));
      const checked = results.filter((r) => r.status === 401);
      expect(checked.length).toBeGreaterThanOrEqual(1);
      expect(checked.length).toBeLessThanOrEqual(6);
      results.filter((r) => r.status !== 401).forEach(expectRateLimited);
      expectRateLimited(await attempt(users[0].username, PASSWORD));
    });

    it('spends none of the address budget on logins an account budget refused', async () => {
      for (let i = 0; i < 3; i++) expect((await attempt(users[0].username, `wrong-${i}`)).status).toBe(401);
      for (let i = 0; i < 6; i++) expectRateLimited(await attempt(users[0].username, 'wrong')); // checked nothing
      for (let i = 0; i < 3; i++) expect((await attempt(`guess_${i}`, 'wrong')).status).toBe(401);
      expectRateLimited(await attempt(users[1].username, PASSWORD));
    });

    it("keeps the address's count on a success: logging into one's own account buys no new guesses", async () => {
      for (let i = 0; i < 5; i++) expect((await attempt(`guess_${i}`, 'wrong')).status).toBe(401);
      expect((await attempt(users[0].username, PASSWORD)).status).toBe(200);
      expect((await attempt('guess_5', 'wrong')).status).toBe(401);
      expectRateLimited(await attempt(users[0].username, PASSWORD));
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

  it('charges a page of my inbox messages the same, since it reads each of my rooms; one room asked for costs one', async () => {
    await resetState();
    const t = await startApp({ REST_REQUESTS_PER_MIN: '20' });
    try {
      const many = await createUser(t, 'manyinbox');
      await sql(
        `WITH r AS (INSERT INTO chatrooms (name, type, created_by_id)
                    SELECT 'r' || g, 'group', $1 FROM generate_series(1, 150) g RETURNING id)
         INSERT INTO chatroom_members (chatroom_id, user_id, role) SELECT id, $1, 'owner' FROM r`,
        [many.id],
      );
      const [{ id: oneRoom }] = await sql<{ id: number }>(
        'SELECT chatroom_id AS id FROM chatroom_members WHERE user_id = $1 LIMIT 1',
        [many.id],
      );
      // One room named: one request each, ten of them.
      for (let i = 0; i < 10; i++) {
        const res = await t.http().get(`/inbox/messages?chatroomId=${oneRoom}`).set(auth(many));
        expect(res.status).toBe(200);
      }
      // All 150 rooms: 1 + 3 each, so the ten left buy two or three pages, not ten.
      const pages: number[] = [];
      for (let i = 0; i < 10 && pages.at(-1) !== 429; i++) {
        pages.push((await t.http().get('/inbox/messages?unread=true').set(auth(many))).status);
      }
      expect(pages.filter((s) => s === 200).length).toBeGreaterThanOrEqual(2);
      expect(pages.filter((s) => s === 200).length).toBeLessThanOrEqual(4);
      expect(pages.at(-1)).toBe(429);
    } finally {
      await t.close();
    }
  });
});
