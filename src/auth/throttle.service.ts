import { Injectable, Logger } from '@nestjs/common';
import type { Response } from 'express';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { AppError, ErrorCode } from '../common/errors';
import { AppConfig } from '../config/app-config';
import { RedisService } from '../redis/redis.service';
import { usernameKey } from './username';

/** Which budget refused a request: the label a metrics counter would carry. */
export type Limit = 'login-account' | 'auth-ip' | 'rest-user';

/**
 * Anti-automation budgets, counted in Redis so every instance shares them:
 *  - failed logins per account (LOGIN_FAILS_PER_ACCOUNT per LOGIN_FAIL_WINDOW_S); a
 *    successful login clears the account's count;
 *  - login and registration attempts per client address (AUTH_ATTEMPTS_PER_IP per
 *    AUTH_IP_WINDOW_S);
 *  - authenticated REST requests per user (REST_REQUESTS_PER_MIN).
 * While Redis does not answer, each instance falls back to counting in its own memory
 * (the insurance limiter) rather than refusing everyone or letting everything through.
 */
@Injectable()
export class ThrottleService {
  private readonly logger = new Logger(ThrottleService.name);
  private readonly loginFails: RateLimiterRedis;
  private readonly authIp: RateLimiterRedis;
  private readonly restUser: RateLimiterRedis;
  private readonly rejected: Record<Limit, number> = { 'login-account': 0, 'auth-ip': 0, 'rest-user': 0 };

  constructor(config: AppConfig, redis: RedisService) {
    const make = (keyPrefix: string, points: number, duration: number) =>
      new RateLimiterRedis({
        storeClient: redis.client,
        keyPrefix,
        points,
        duration,
        insuranceLimiter: new RateLimiterMemory({ keyPrefix, points, duration }),
      });
    this.loginFails = make('rl:login-fail', config.loginFailsPerAccount, config.loginFailWindowS);
    this.authIp = make('rl:auth-ip', config.authAttemptsPerIp, config.authIpWindowS);
    this.restUser = make('rl:rest-user', config.restRequestsPerMin, 60);
  }

  /** Refused requests per budget since boot (for the metrics endpoint to export). */
  rejectedCounts(): Readonly<Record<Limit, number>> {
    return { ...this.rejected };
  }

  /** One login or registration attempt from this address. */
  async authAttempt(ip: string, res: Response): Promise<void> {
    await this.consume(this.authIp, ip, 'auth-ip', res);
  }

  /**
   * Refuses a login while the account has used up its failed attempts. Counted per account
   * whatever the case typed (login ignores case): else every casing of a name had a budget.
   * Folded as usernameKey does, ASCII only, the one way login's lookup agrees with.
   */
  async checkLoginAccount(username: string, res: Response): Promise<void> {
    const state = await this.loginFails.get(usernameKey(username)).catch(() => null);
    if (state && state.consumedPoints >= this.loginFails.points) {
      throw this.refuse('login-account', state.msBeforeNext, res);
    }
  }

  async loginFailed(username: string): Promise<void> {
    // Over budget is expected here (the caller answers 401 anyway); store errors are logged.
    await this.loginFails.consume(usernameKey(username)).catch((e: unknown) => {
      if (e instanceof Error) this.logger.warn(`login-fail counter: ${e.message}`);
    });
  }

  async loginSucceeded(username: string): Promise<void> {
    await this.loginFails
      .delete(usernameKey(username))
      .catch((e: Error) => this.logger.warn(`login-fail reset: ${e.message}`));
  }

  async restRequest(userId: number, res: Response): Promise<void> {
    await this.consume(this.restUser, String(userId), 'rest-user', res);
  }

  private async consume(limiter: RateLimiterRedis, key: string, limit: Limit, res: Response): Promise<void> {
    try {
      await limiter.consume(key);
    } catch (e) {
      if (e instanceof RateLimiterRes) throw this.refuse(limit, e.msBeforeNext, res);
      throw e;
    }
  }

  private refuse(limit: Limit, msBeforeNext: number, res: Response): AppError {
    this.rejected[limit]++;
    const retryAfterS = Math.max(1, Math.ceil(msBeforeNext / 1000));
    res.setHeader('Retry-After', String(retryAfterS));
    return new AppError(ErrorCode.RateLimited, `Too many requests: try again in ${retryAfterS} s`, {
      retryAfterMs: msBeforeNext,
    });
  }
}
