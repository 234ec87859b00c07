import type { Response } from 'express';
import { request as httpRequest } from 'node:http';
import { kdfGate } from '../src/auth/kdf-gate';
import { ThrottleService } from '../src/auth/throttle.service';
import { eventually, expectRateLimited, flushTestRedis, resetState, startApp, TestApp } from './utils/app';
import { auth, createUser, TEST_PASSWORD, TestUser } from './utils/users';

/** Default LOGIN_FAILS_PER_ACCOUNT (per account per client address). */
const BUDGET = 10;
/** Every request's client address (X-Forwarded-For, behind TRUST_PROXY): the budget is the pair's. */
const ADDRESS = '203.0.113.9';

/** Every slot of the process's KDF gate taken until the returned function is called: checks queue. */
function holdKdfSlots(): () => Promise<void> {
  let finish!: () => void;
  const held = new Promise<void>((resolve) => (finish = resolve));
  const blockers = Array.from({ length: kdfGate.slots }, () => kdfGate.run(() => held));
  return async () => {
    finish();
    await Promise.all(blockers);
  };
}

/**
 * The failed-login budget against concurrent attempts: a point is reserved in Redis before
 * the password is checked, so a burst cannot get more guesses checked than the budget.
 */
describe('failed-login budget under concurrency (e2e)', () => {
  let a: TestApp, b: TestApp;
  let victim: TestUser;
  let release: (() => Promise<void>) | undefined;

  beforeAll(async () => {
    await resetState();
    [a, b] = await Promise.all([startApp({ TRUST_PROXY: 'true' }), startApp({ TRUST_PROXY: 'true' })]);
  });
  beforeEach(async () => {
    await flushTestRedis();
    victim = await createUser(a, 'racer');
  });
  afterEach(async () => {
    await release?.();
    release = undefined;
  });
  afterAll(() => Promise.all([a?.close(), b?.close()]));

  const login = (t: TestApp, password: string, username = victim.username) =>
    t.http().post('/auth/login').set('X-Forwarded-For', ADDRESS).send({ username, password });
  const changePassword = (t: TestApp, currentPassword: string) =>
    t
      .http()
      .patch('/users/me/password')
      .set(auth(victim))
      .set('X-Forwarded-For', ADDRESS)
      .send({ currentPassword, newPassword: 'a new password' });

  it('reserves failure points atomically: of 20 concurrent reservations on two instances, exactly the budget pass', async () => {
    const res = { setHeader: jest.fn() } as unknown as Response;
    const [ta, tb] = [a.app.get(ThrottleService), b.app.get(ThrottleService)];
    const outcomes = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) => (i % 2 ? ta : tb).reserveLoginFailure(victim.username, ADDRESS, res)),
    );
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(BUDGET);
    for (const o of outcomes) if (o.status === 'rejected') expect(o.reason).toMatchObject({ code: 'RATE_LIMITED' });
    expectRateLimited(await login(a, TEST_PASSWORD)); // the budget is spent
  });

  it('answers 20 concurrent wrong logins (two instances) with at most the budget of 401s, the rest 429', async () => {
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => login(i % 2 ? b : a, `wrong-${i}`)));
    const unauthorized = results.filter((r) => r.status === 401);
    expect(unauthorized.length).toBeGreaterThanOrEqual(1);
    expect(unauthorized.length).toBeLessThanOrEqual(BUDGET);
    results.filter((r) => r.status !== 401).forEach(expectRateLimited);
  });

  it('answers 20 concurrent wrong current passwords with at most the budget of 400s, the rest 429', async () => {
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => changePassword(i % 2 ? b : a, `wrong-${i}`)),
    );
    const wrong = results.filter((r) => r.status === 400);
    expect(wrong.length).toBeGreaterThanOrEqual(1);
    expect(wrong.length).toBeLessThanOrEqual(BUDGET);
    results.filter((r) => r.status !== 400).forEach(expectRateLimited);
  });

  it('refuses the right password while wrong ones in flight hold the rest of the budget', async () => {
    for (let i = 0; i < BUDGET - 1; i++) expect((await login(a, `wrong-${i}`)).status).toBe(401);
    release = holdKdfSlots();
    const lastGuess = login(a, 'wrong-last').then((r) => r); // reserves the 10th point, then waits for a slot
    await eventually(() => kdfGate.queued === 1, 10_000, 'the last guess to wait for the KDF gate');
    // Not yet checked, but its point is taken: the right password (here through a password
    // change, which has its own per-user claim) finds the budget spent.
    expectRateLimited(await changePassword(b, TEST_PASSWORD));
    await release();
    release = undefined;
    expect((await lastGuess).status).toBe(401);
    expectRateLimited(await login(b, TEST_PASSWORD));
  });

  it('gives the point back when no password was checked, and keeps "a success clears the count"', async () => {
    for (let i = 0; i < 2 * BUDGET; i++) {
      const res = await a
        .http()
        .post('/auth/login')
        .set('X-Forwarded-For', ADDRESS)
        .send({ username: victim.username, password: 42 });
      expect(res.status).toBe(400); // validation: nothing was checked
    }
    for (let i = 0; i < BUDGET - 1; i++) expect((await login(a, `wrong-${i}`)).status).toBe(401);
    expect((await login(b, TEST_PASSWORD)).status).toBe(200);
    // A right current password is not a failure either.
    expect((await changePassword(a, TEST_PASSWORD)).status).toBe(204);
    for (let i = 0; i < BUDGET - 1; i++) expect((await login(a, `wrong-${i}`)).status).toBe(401);
    expect((await login(b, 'a new password')).status).toBe(200);
  });

  it('never refunds below zero: a refund after the count was cleared buys no extra guess', async () => {
    const throttle = a.app.get(ThrottleService);
    // A login that hung up after a success (or after its window expired) cleared the count:
    // its late refund finds nothing to give back.
    await throttle.refundLoginFailure(victim.username, ADDRESS);
    await throttle.refundLoginFailure(victim.username, ADDRESS);
    for (let i = 0; i < BUDGET; i++) expect((await login(a, `wrong-${i}`)).status).toBe(401);
    expectRateLimited(await login(b, 'one more guess'));
  });

  it('does not lock the account out when a client hangs up while its failure point is being reserved', async () => {
    const throttle = a.app.get(ThrottleService);
    const reserve = throttle.reserveLoginFailure.bind(throttle);
    let entered!: () => void;
    const inReservation = new Promise<void>((resolve) => (entered = resolve));
    // The reservation's Redis round trip, held open until the server has seen the hang-up.
    const spy = jest.spyOn(throttle, 'reserveLoginFailure').mockImplementationOnce(async (username, ip, res) => {
      entered();
      await new Promise((resolve) => res.once('close', resolve));
      return reserve(username, ip, res);
    });
    const req = httpRequest(`${a.url}/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-forwarded-for': ADDRESS },
    });
    req.on('error', () => undefined);
    req.end(JSON.stringify({ username: victim.username, password: TEST_PASSWORD }));
    await inReservation;
    req.destroy();
    await (spy.mock.results[0].value as Promise<void>); // done, after the server saw the hang-up
    spy.mockRestore();
    // The account's one-check claim was released by the hang-up, not held for good.
    expect((await login(a, TEST_PASSWORD)).status).toBe(200);
  });
});
