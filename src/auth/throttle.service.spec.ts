import type { Response } from 'express';
import type { AppConfig } from '../config/app-config';
import type { MetricsService } from '../metrics/metrics.service';
import type { RedisService } from '../redis/redis.service';
import { ThrottleService } from './throttle.service';

/** LOGIN_FAILS_PER_ACCOUNT: per account per address. */
const BUDGET = 3;
/** LOGIN_FAILS_PER_IP: per address, any accounts. */
const IP_BUDGET = 5;
const ATTACKER = '203.0.113.7';
const OWNER = '198.51.100.1';

/** An ioredis stand-in whose every command fails, as while Redis is unreachable. */
function unreachableRedis(): RedisService {
  const fail = () => Promise.reject(new Error('Connection is closed.'));
  const client: Record<string, unknown> = {
    defineCommand(name: string) {
      client[name] = fail;
    },
    del: fail,
  };
  return { client } as unknown as RedisService;
}

function setup(restRequestsPerMin = 600) {
  const config = {
    loginFailsPerAccount: BUDGET,
    loginFailWindowS: 900,
    loginFailsPerIp: IP_BUDGET,
    loginFailsPerIpWindowS: 86400,
    authAttemptsPerIp: 100,
    authIpWindowS: 60,
    restRequestsPerMin,
  } as AppConfig;
  const rateLimited = jest.fn();
  const throttle = new ThrottleService(config, unreachableRedis(), { rateLimited } as unknown as MetricsService);
  const setHeader = jest.fn();
  const res = { setHeader } as unknown as Response;
  const reserve = (ip = ATTACKER, username = 'Victim') => throttle.reserveLoginFailure(username, ip, res);
  return { throttle, reserve, setHeader, rateLimited, res };
}

const refused = { code: 'RATE_LIMITED' };

describe('ThrottleService while Redis is unreachable', () => {
  it('counts failed-login reservations in memory, and refunds them there', async () => {
    const { throttle, reserve } = setup();
    for (let i = 0; i < BUDGET; i++) await reserve();
    // Two of those logins ended without a verdict: their points come back.
    await throttle.refundLoginFailure('victim', ATTACKER);
    await throttle.refundLoginFailure('VICTIM', ATTACKER);
    await reserve();
    await reserve();
    await expect(reserve()).rejects.toMatchObject(refused);
  });

  it('never refunds below zero in memory either', async () => {
    const { throttle, reserve } = setup();
    await throttle.refundLoginFailure('victim', ATTACKER);
    await throttle.refundLoginFailure('victim', ATTACKER);
    for (let i = 0; i < BUDGET; i++) await reserve();
    await expect(reserve()).rejects.toMatchObject(refused);
  });
});

describe('ThrottleService failed-login budgets (per account and address, per address)', () => {
  it("spends an account's budget at one address only: the owner's address still gets its own", async () => {
    const { reserve } = setup();
    for (let i = 0; i < BUDGET; i++) await reserve(ATTACKER);
    await expect(reserve(ATTACKER)).rejects.toMatchObject(refused);
    await expect(reserve(ATTACKER, 'VICTIM')).rejects.toMatchObject(refused); // any case
    for (let i = 0; i < BUDGET; i++) await reserve(OWNER);
    await expect(reserve(OWNER)).rejects.toMatchObject(refused);
  });

  it('refuses an address past LOGIN_FAILS_PER_IP across accounts, with Retry-After, counted as login-ip', async () => {
    const { throttle, reserve, setHeader, rateLimited } = setup();
    for (let i = 0; i < IP_BUDGET; i++) await reserve(ATTACKER, `user${i}`);
    await expect(reserve(ATTACKER, 'someone_else')).rejects.toMatchObject(refused);
    expect(setHeader).toHaveBeenLastCalledWith('Retry-After', expect.stringMatching(/^\d+$/));
    expect(Number(setHeader.mock.lastCall?.[1])).toBeGreaterThan(86000);
    await reserve(OWNER, 'someone_else'); // another address is not concerned
    expect(throttle.rejectedCounts()).toMatchObject({ 'login-ip': 1, 'login-account': 0 });
    expect(rateLimited).toHaveBeenCalledWith('login_ip', 0); // exported from the first scrape
    expect(rateLimited).toHaveBeenLastCalledWith('login_ip');
  });

  it("gives back the other budget's point when one refuses: a refusal checks nothing", async () => {
    const { throttle, reserve } = setup();
    for (let i = 0; i < BUDGET; i++) await reserve(ATTACKER, 'victim');
    // Refused by the pair's budget: these must not spend the address's.
    for (let i = 0; i < 3 * IP_BUDGET; i++) await expect(reserve(ATTACKER, 'victim')).rejects.toMatchObject(refused);
    for (let i = 0; i < IP_BUDGET - BUDGET; i++) await reserve(ATTACKER, `user${i}`);
    await expect(reserve(ATTACKER, 'one_more')).rejects.toMatchObject(refused);
    expect(throttle.rejectedCounts()).toMatchObject({ 'login-account': 3 * IP_BUDGET, 'login-ip': 1 });
  });

  it('refunds both budgets when no verdict was reached', async () => {
    const { throttle, reserve } = setup();
    for (let i = 0; i < IP_BUDGET; i++) {
      await reserve(ATTACKER, 'victim');
      await throttle.refundLoginFailure('victim', ATTACKER);
    }
    // Neither the pair's budget (3) nor the address's (5) was spent by those.
    for (let i = 0; i < BUDGET; i++) await reserve(ATTACKER, 'victim');
    for (let i = 0; i < IP_BUDGET - BUDGET; i++) await reserve(ATTACKER, `user${i}`);
    await expect(reserve(ATTACKER, 'another')).rejects.toMatchObject(refused);
  });

  it("clears the account's count at that address on success, not another address's nor the address's own", async () => {
    const { throttle, reserve } = setup();
    for (let i = 0; i < BUDGET; i++) await reserve(ATTACKER, 'victim');
    for (let i = 0; i < BUDGET - 1; i++) await reserve(OWNER, 'victim');
    await reserve(OWNER, 'victim'); // the right password, this time
    await throttle.loginSucceeded('Victim', OWNER);
    for (let i = 0; i < BUDGET - 1; i++) await reserve(OWNER, 'victim'); // the owner's count starts over
    await expect(reserve(ATTACKER, 'victim')).rejects.toMatchObject(refused);
    // The address's count across accounts stays (less the success's own point): 2 + 2 of OWNER's 5, one left.
    await reserve(OWNER, 'bystander');
    await expect(reserve(OWNER, 'bystander')).rejects.toMatchObject(refused);
  });
});

describe('ThrottleService list charges (REST_REQUESTS_PER_MIN)', () => {
  /** How many plain requests the user still gets before the 429. */
  async function requestsLeft(throttle: ThrottleService, res: Response, userId: number): Promise<number> {
    for (let n = 0; ; n++) {
      try {
        await throttle.restRequest(userId, res);
      } catch (e) {
        expect(e).toMatchObject(refused);
        return n;
      }
    }
  }

  it('charges a member list one more request per 50 members listed, and nothing under 50', async () => {
    const { throttle, res } = setup(10);
    await throttle.chargeMemberList(1, 49);
    expect(await requestsLeft(throttle, res, 1)).toBe(10);
    await throttle.chargeMemberList(2, 50);
    expect(await requestsLeft(throttle, res, 2)).toBe(9);
    await throttle.chargeMemberList(3, 149);
    expect(await requestsLeft(throttle, res, 3)).toBe(8);
  });

  it('charges a room list at the same rate, as before', async () => {
    const { throttle, res } = setup(10);
    await throttle.chargeRoomList(1, 49);
    expect(await requestsLeft(throttle, res, 1)).toBe(10);
    await throttle.chargeRoomList(2, 150);
    expect(await requestsLeft(throttle, res, 2)).toBe(7);
  });
});
