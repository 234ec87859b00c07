import { Logger } from '@nestjs/common';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { AppConfig } from '../config/app-config';
import type { RedisClient } from '../redis/redis.service';
import { refundPoint } from './scripts/refund-point.script';
import type { Limit } from './throttle.service';
import { usernameKey } from './username';

/** The two keys one login attempt is counted under: the account at this address, and the address. */
interface FailKeys {
  pair: string;
  ip: string;
}

/** A failed-login budget: counted in Redis, in `memory` (its insurance limiter) while Redis does not answer. */
interface FailBudget {
  limit: Limit;
  key: keyof FailKeys;
  redis: RateLimiterRedis;
  memory: RateLimiterMemory;
}

/** Which budgets refused a login attempt, and how long until both would take it. */
export interface LoginRefusal {
  limits: Limit[];
  waitMs: number;
}

type MakeLimiter = (prefix: string, points: number, duration: number, insurance: RateLimiterMemory) => RateLimiterRedis;

/**
 * The failed-login budgets, rate-limiter-flexible's login-protection recipe: failures of one
 * account from one client address (LOGIN_FAILS_PER_ACCOUNT per LOGIN_FAIL_WINDOW_S, the
 * recipe's consecutive fails by username and IP), so that a stranger's wrong guesses lock out
 * only their own address, not the account's owner; and failures from one address whatever
 * the accounts (LOGIN_FAILS_PER_IP per LOGIN_FAILS_PER_IP_WINDOW_S, its slow brute force by
 * IP). ThrottleService answers the refusals.
 */
export class LoginFailures {
  private readonly logger = new Logger(LoginFailures.name);
  private readonly pairFails: FailBudget;
  private readonly ipFails: FailBudget;
  private readonly refundOne: ReturnType<typeof refundPoint.on>;

  constructor(config: AppConfig, client: RedisClient, make: MakeLimiter) {
    const budget = (limit: Limit, key: keyof FailKeys, prefix: string, points: number, duration: number) => {
      const memory = new RateLimiterMemory({ keyPrefix: prefix, points, duration });
      return { limit, key, memory, redis: make(prefix, points, duration, memory) };
    };
    this.pairFails = budget(
      'login-account',
      'pair',
      'rl:login-fail',
      config.loginFailsPerAccount,
      config.loginFailWindowS,
    );
    this.ipFails = budget('login-ip', 'ip', 'rl:login-fail-ip', config.loginFailsPerIp, config.loginFailsPerIpWindowS);
    this.refundOne = refundPoint.on(client);
  }

  /**
   * Reserves one failed attempt before the password is checked, from both budgets together:
   * the account's at this address and the address's. Each count is taken atomically in Redis
   * (rate-limiter-flexible's INCR script), so of concurrent attempts on any number of
   * instances at most each budget get checked, and the rest are refused, the right password
   * too. An attempt one budget refuses gives back the point the other took: a refusal checks
   * nothing, and must not spend the other budget (the owner retrying a forgotten password
   * would otherwise burn the address's daily budget on 429s). The caller gives the points
   * back (refund) when no verdict was reached, and clears the pair's count (succeeded) when
   * the password was right; a wrong one keeps both. Counted per account whatever the case
   * typed (login ignores case), folded as usernameKey does, ASCII only, the one way login's
   * lookup agrees with. Returns the refusal, if any.
   */
  async reserve(username: string, ip: string): Promise<LoginRefusal | undefined> {
    const keys = failKeys(username, ip);
    const budgets = [this.pairFails, this.ipFails];
    const outcomes = await Promise.allSettled(budgets.map((b) => b.redis.consume(keys[b.key])));
    if (outcomes.every((o) => o.status === 'fulfilled')) return undefined;
    const took = budgets.filter((_, i) => outcomes[i].status === 'fulfilled');
    await Promise.all(took.map((b) => this.giveBack(b, keys)));
    const refusal: LoginRefusal = { limits: [], waitMs: 0 };
    for (const [i, o] of outcomes.entries()) {
      if (o.status === 'fulfilled') continue;
      if (!(o.reason instanceof RateLimiterRes)) throw o.reason;
      refusal.limits.push(budgets[i].limit);
      refusal.waitMs = Math.max(refusal.waitMs, o.reason.msBeforeNext);
    }
    return refusal;
  }

  /**
   * Gives both reserved points back, each never below zero (refundPoint). While Redis does
   * not answer, the points were most likely reserved in the in-memory insurance limiters,
   * and they go back there, also never below zero: otherwise every login that reached no
   * verdict during an outage (a 400, a full KDF queue) would have spent one of the
   * attempts for the rest of the window.
   */
  async refund(username: string, ip: string): Promise<void> {
    const keys = failKeys(username, ip);
    await Promise.all([this.giveBack(this.pairFails, keys), this.giveBack(this.ipFails, keys)]);
  }

  /**
   * A right password: clears the account's count at this address, and gives back the point
   * this attempt reserved from the address's budget (a success is no failure). The address's
   * count stays otherwise, as in the recipe: a guesser logging into an account of their own
   * between guesses would else get a new daily budget each time. Another address's failures
   * on the account stay too.
   */
  async succeeded(username: string, ip: string): Promise<void> {
    const keys = failKeys(username, ip);
    await Promise.all([
      this.pairFails.redis.delete(keys.pair).catch((e: Error) => this.logger.warn(`login-fail reset: ${e.message}`)),
      this.giveBack(this.ipFails, keys),
    ]);
  }

  private async giveBack(budget: FailBudget, keys: FailKeys): Promise<void> {
    const key = keys[budget.key];
    try {
      await this.refundOne({ counter: budget.redis.getKey(key) });
    } catch {
      const held = await budget.memory.get(key);
      if (held && held.consumedPoints > 0) await budget.memory.reward(key);
    }
  }
}

/**
 * The address comes last: a real one never contains "|", so no other (username, address)
 * pair names the same key. Only a forged X-Forwarded-For could, and whoever may forge one can
 * name any address anyway (TRUST_PROXY).
 */
function failKeys(username: string, ip: string): FailKeys {
  return { pair: `${usernameKey(username)}|${ip}`, ip };
}
