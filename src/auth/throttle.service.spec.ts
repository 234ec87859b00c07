import type { Response } from 'express';
import type { AppConfig } from '../config/app-config';
import type { RedisService } from '../redis/redis.service';
import { ThrottleService } from './throttle.service';

const BUDGET = 3;

/** An ioredis stand-in whose every command fails, as while Redis is unreachable. */
function unreachableRedis(): RedisService {
  const client: Record<string, unknown> = {
    defineCommand(name: string) {
      client[name] = () => Promise.reject(new Error('Connection is closed.'));
    },
  };
  return { client } as unknown as RedisService;
}

function setup() {
  const config = {
    loginFailsPerAccount: BUDGET,
    loginFailWindowS: 900,
    authAttemptsPerIp: 100,
    authIpWindowS: 60,
    restRequestsPerMin: 600,
  } as AppConfig;
  const throttle = new ThrottleService(config, unreachableRedis());
  const res = { setHeader: jest.fn() } as unknown as Response;
  const reserve = () => throttle.reserveLoginFailure('Victim', res);
  return { throttle, reserve };
}

describe('ThrottleService while Redis is unreachable', () => {
  it('counts failed-login reservations in memory, and refunds them there', async () => {
    const { throttle, reserve } = setup();
    for (let i = 0; i < BUDGET; i++) await reserve();
    // Two of those logins ended without a verdict: their points come back.
    await throttle.refundLoginFailure('victim');
    await throttle.refundLoginFailure('VICTIM');
    await reserve();
    await reserve();
    await expect(reserve()).rejects.toMatchObject({ code: 'RATE_LIMITED' });
  });

  it('never refunds below zero in memory either', async () => {
    const { throttle, reserve } = setup();
    await throttle.refundLoginFailure('victim');
    await throttle.refundLoginFailure('victim');
    for (let i = 0; i < BUDGET; i++) await reserve();
    await expect(reserve()).rejects.toMatchObject({ code: 'RATE_LIMITED' });
  });
});
