import fs from 'node:fs';
import path from 'node:path';
import { kdfGate } from '../src/auth/kdf-gate';
import { WEB_ROOT } from '../src/web/serve-web';
import { eventually, expectRateLimited, flushTestRedis, resetState, startApp, TestApp } from './utils/app';
import { auth, createUser, TEST_PASSWORD, TestUser } from './utils/users';

/**
 * Takes `places` of the process's KDF gate (its slots first, then queue places) until the
 * returned function is called. The app under test runs in this process and shares the gate,
 * so what waits behind it is observable without timing anything.
 */
function occupyKdfGate(places: number): () => Promise<void> {
  let finish!: () => void;
  const held = new Promise<void>((resolve) => (finish = resolve));
  const blockers = Array.from({ length: places }, () => kdfGate.run(() => held));
  return async () => {
    finish();
    await Promise.all(blockers);
  };
}

/**
 * Password hashing shares libuv's thread pool with the filesystem: it is bounded process-wide
 * (KdfGate: two at a time, a bounded queue, then 429), one at a time per account, and API
 * requests do not touch the filesystem on their way past the web client's static files.
 */
describe('KDF fairness (e2e)', () => {
  let t: TestApp;
  let alice: TestUser, bob: TestUser;
  let release: (() => Promise<void>) | undefined;

  beforeAll(async () => {
    await resetState();
    t = await startApp();
  });
  beforeEach(async () => {
    await flushTestRedis();
    [alice, bob] = [await createUser(t, 'kdfalice'), await createUser(t, 'kdfbob')];
  });
  afterEach(async () => {
    await release?.();
    release = undefined;
  });
  afterAll(() => t?.close());

  const changePassword = (u: TestUser, currentPassword = TEST_PASSWORD, newPassword = 'a new password') =>
    t.http().patch('/users/me/password').set(auth(u)).send({ currentPassword, newPassword });
  const login = (username: string, password = TEST_PASSWORD) =>
    t.http().post('/auth/login').send({ username, password });

  it('refuses a second concurrent password change of the same user at once; other users still queue', async () => {
    release = occupyKdfGate(kdfGate.slots);
    const first = changePassword(alice).then((r) => r);
    await eventually(() => kdfGate.queued === 1, 10_000, "alice's change to wait for the gate");
    expectRateLimited(await changePassword(alice));
    expectRateLimited(await changePassword(alice, 'a wrong password')); // right or wrong: no second check
    expect(kdfGate.queued).toBe(1); // neither reached the gate
    const other = changePassword(bob).then((r) => r);
    await eventually(() => kdfGate.queued === 2, 10_000, "bob's change to wait for the gate");
    await release();
    release = undefined;
    expect([(await first).status, (await other).status]).toEqual([204, 204]);
  });

  it('refuses a second concurrent login of the same account (in any case) without checking it', async () => {
    release = occupyKdfGate(kdfGate.slots);
    const first = login(alice.username, 'a wrong password').then((r) => r);
    await eventually(() => kdfGate.queued === 1, 10_000, 'the first login to wait for the gate');
    expectRateLimited(await login(alice.username));
    expectRateLimited(await login(alice.username.toUpperCase()));
    expect(kdfGate.queued).toBe(1);
    await release();
    release = undefined;
    expect((await first).status).toBe(401);
    expect((await login(alice.username)).status).toBe(200); // the refused ones cost no failed attempt
  });

  it('answers 150 concurrent password changes of one user with one check and 429s', async () => {
    // Every slot busy: the first change to get the user's claim waits in the gate's queue
    // holding it, so any other change that reached the gate would be a second check.
    release = occupyKdfGate(kdfGate.slots);
    const run = jest.spyOn(kdfGate, 'run');
    try {
      let settled = 0;
      const all = Promise.all(
        Array.from({ length: 150 }, (_, i) =>
          changePassword(alice, i % 2 ? TEST_PASSWORD : `wrong-${i}`).then((r) => {
            settled++;
            return r;
          }),
        ),
      );
      await eventually(() => Promise.resolve(settled === 149), 20_000, '149 answers while one check waits');
      expect(run).toHaveBeenCalledTimes(1);
      expect(kdfGate.queued).toBe(1);
      await release();
      release = undefined;
      const results = await all;
      results.filter((r) => r.status === 429).forEach(expectRateLimited);
      expect(results.filter((r) => r.status !== 429)).toHaveLength(1);
    } finally {
      run.mockRestore();
    }
  });

  it('refuses password work with 429 while the KDF queue is full, and serves other requests meanwhile', async () => {
    release = occupyKdfGate(kdfGate.slots + kdfGate.maxQueued);
    expect(kdfGate.isFull()).toBe(true);
    expectRateLimited(
      await t.http().post('/auth/register').send({ username: 'kdf_newcomer', password: TEST_PASSWORD }),
    );
    expectRateLimited(await login(bob.username));
    expectRateLimited(await changePassword(bob));
    expect((await t.http().get('/users/me').set(auth(bob))).status).toBe(200);
    await release();
    release = undefined;
    // Nothing was held against anyone: the same requests now pass.
    expect((await login(bob.username)).status).toBe(200);
    expect((await changePassword(bob)).status).toBe(204);
  });

  describe('the web client static files', () => {
    let stat: jest.SpyInstance;
    const statsUnderWebRoot = () =>
      stat.mock.calls.filter(([p]) => typeof p === 'string' && path.resolve(p).startsWith(WEB_ROOT));

    beforeAll(() => {
      if (!fs.existsSync(path.join(WEB_ROOT, 'index.html'))) {
        throw new Error(`no web client build at ${WEB_ROOT}: run npm run build:web first`);
      }
    });
    beforeEach(() => {
      stat = jest.spyOn(fs, 'stat');
    });
    afterEach(() => stat.mockRestore());

    it('does not look at the filesystem for API requests or unknown paths', async () => {
      expect((await t.http().get('/users/me').set(auth(alice))).status).toBe(200);
      expect((await t.http().head('/chatrooms').set(auth(alice))).status).toBe(200);
      expect((await t.http().get('/health/live')).status).toBe(200);
      expect((await t.http().get('/no-such-file.js')).status).toBe(404);
      expect((await t.http().get('/assets/no-such-file.js')).status).toBe(404);
      expect(statsUnderWebRoot()).toEqual([]);
    });

    it('still serves the build, with its caching headers', async () => {
      const asset = fs.readdirSync(path.join(WEB_ROOT, 'assets')).find((f) => !f.startsWith('.'));
      expect(asset).toBeDefined();
      const page = await t.http().get('/');
      expect([page.status, page.headers['cache-control']]).toEqual([200, 'no-cache']);
      expect(page.headers['content-type']).toMatch(/^text\/html/);
      const file = await t.http().get(`/assets/${asset}`);
      expect([file.status, file.headers['cache-control']]).toEqual([200, 'public, max-age=31536000, immutable']);
      expect((await t.http().head('/index.html')).status).toBe(200);
      expect(statsUnderWebRoot().length).toBeGreaterThanOrEqual(3); // the spy sees the static handler
    });
  });
});
