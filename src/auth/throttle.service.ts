import { Injectable, Logger } from '@nestjs/common';
import type { Response } from 'express';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { AppError, ErrorCode } from '../common/errors';
import { AppConfig } from '../config/app-config';
import { RedisService } from '../redis/redis.service';
import { kdfGate, kdfLeases } from './kdf-gate';
import { refundPoint } from './scripts/refund-point.script';
import { usernameKey } from './username';

/** Which budget refused a request: the label a metrics counter would carry. */
export type Limit = 'login-account' | 'auth-ip' | 'rest-user' | 'password-check';

/**
 * Anti-automation budgets, counted in Redis so every instance shares them:
 *  - failed logins per account (LOGIN_FAILS_PER_ACCOUNT per LOGIN_FAIL_WINDOW_S), each
 *    reserved before the password is checked; a successful login clears the account's count;
 *  - login and registration attempts per client address (AUTH_ATTEMPTS_PER_IP per
 *    AUTH_IP_WINDOW_S);
 *  - authenticated REST requests per user (REST_REQUESTS_PER_MIN).
 * Password work is bounded in this process's memory instead: one check at a time per
 * account, and the KdfGate's queue (kdf-gate.ts). While Redis does not answer, each
 * instance falls back to counting in its own memory (the insurance limiter) rather than
 * refusing everyone or letting everything through.
 */
/** GET /chatrooms and GET /inbox cost one more REST request per this many rooms (chargeRoomList). */
export const ROOMS_PER_REST_REQUEST = 50;

@Injectable()
export class ThrottleService {
  private readonly logger = new Logger(ThrottleService.name);
  private readonly loginFails: RateLimiterRedis;
  /** Where loginFails counts while Redis does not answer (its insurance limiter). */
  private readonly loginFailsMemory: RateLimiterMemory;
  private readonly refund: ReturnType<typeof refundPoint.on>;
  private readonly authIp: RateLimiterRedis;
  private readonly restUser: RateLimiterRedis;
  private readonly rejected: Record<Limit, number> = {
    'login-account': 0,
    'auth-ip': 0,
    'rest-user': 0,
    'password-check': 0,
  };

  constructor(config: AppConfig, redis: RedisService) {
    const make = (keyPrefix: string, points: number, duration: number, insurance?: RateLimiterMemory) =>
      new RateLimiterRedis({
        storeClient: redis.client,
        keyPrefix,
        points,
        duration,
        insuranceLimiter: insurance ?? new RateLimiterMemory({ keyPrefix, points, duration }),
      });
    this.loginFailsMemory = new RateLimiterMemory({
      keyPrefix: 'rl:login-fail',
      points: config.loginFailsPerAccount,
      duration: config.loginFailWindowS,
    });
    this.loginFails = make(
      'rl:login-fail',
      config.loginFailsPerAccount,
      config.loginFailWindowS,
      this.loginFailsMemory,
    );
    this.authIp = make('rl:auth-ip', config.authAttemptsPerIp, config.authIpWindowS);
    this.restUser = make('rl:rest-user', config.restRequestsPerMin, 60);
    this.refund = refundPoint.on(redis.client);
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
   * Reserves one failed attempt of the account before its password is checked: the count is
   * taken atomically in Redis (rate-limiter-flexible's INCR script), so of concurrent
   * attempts on any number of instances at most the budget get checked, and the rest are
   * refused, the right password too. The caller gives the point back (refundLoginFailure)
   * when no verdict was reached, and clears the count (loginSucceeded) when the password was
   * right; a wrong one keeps it. Counted per account whatever the case typed (login ignores
   * case), folded as usernameKey does, ASCII only, the one way login's lookup agrees with.
   */
  async reserveLoginFailure(username: string, res: Response): Promise<void> {
    await this.consume(this.loginFails, usernameKey(username), 'login-account', res);
  }

  /**
   * Gives the reserved point back, never below zero (refundPoint). While Redis does not
   * answer, the point was most likely reserved in the in-memory insurance limiter, and it
   * goes back there, also never below zero: otherwise every login that reached no verdict
   * during an outage (a 400, a full KDF queue) would have spent one of the account's
   * attempts for the rest of the window.
   */
  async refundLoginFailure(username: string): Promise<void> {
    const key = usernameKey(username);
    try {
      await this.refund({ counter: this.loginFails.getKey(key) });
    } catch {
      const held = await this.loginFailsMemory.get(key);
      if (held && held.consumedPoints > 0) await this.loginFailsMemory.reward(key);
    }
  }

  async loginSucceeded(username: string): Promise<void> {
    await this.loginFails
      .delete(usernameKey(username))
      .catch((e: Error) => this.logger.warn(`login-fail reset: ${e.message}`));
  }

  /**
   * Admits one password check or hash for `key` (the account): refused at once while the
   * account already has one running in this process, or while the process's KDF queue is
   * full (KdfGate). Returns the function that ends the claim.
   */
  claimPasswordCheck(key: string, res: Response): () => void {
    this.admitKdf(res);
    const release = kdfLeases.claim(key);
    if (!release) throw this.refuse('password-check', kdfGate.retryAfterMs(), res);
    return release;
  }

  /** Refuses at once while the process's KDF queue is full (registration hashes too). */
  admitKdf(res: Response): void {
    if (kdfGate.isFull()) throw this.refuse('password-check', kdfGate.retryAfterMs(), res);
  }

  /**
   * Runs password work (hashPassword, verifyPassword); a refusal by the KDF gate leaves with
   * the Retry-After header every other refusal carries.
   */
  async passwordWork<T>(res: Response, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (e) {
      const retryAfterMs = e instanceof AppError && e.code === ErrorCode.RateLimited ? retryAfterOf(e) : undefined;
      if (retryAfterMs !== undefined) throw this.refuse('password-check', retryAfterMs, res);
      throw e;
    }
  }

  async restRequest(userId: number, res: Response): Promise<void> {
    await this.consume(this.restUser, String(userId), 'rest-user', res);
  }

  /**
   * A list of all the user's rooms (`GET /chatrooms`, `GET /inbox`) costs its request and one
   * more per ROOMS_PER_REST_REQUEST rooms: at 1,000 rooms one took 33 ms of the server, as
   * much as some thirty plain requests, and a probe in 1,000 rooms took a core with them
   * within the per-user budget. Charged after the answer is built (it refuses nothing now:
   * the next requests are refused sooner).
   */
  async chargeRoomList(userId: number, rooms: number): Promise<void> {
    const extra = Math.floor(rooms / ROOMS_PER_REST_REQUEST);
    if (extra > 0) await this.restUser.penalty(String(userId), extra);
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

function retryAfterOf(e: AppError): number | undefined {
  const ms = (e.details as { retryAfterMs?: unknown } | undefined)?.retryAfterMs;
  return typeof ms === 'number' ? ms : undefined;
}
