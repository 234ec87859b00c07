import { Injectable } from '@nestjs/common';
import type { Response } from 'express';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { AppError, ErrorCode } from '../common/errors';
import { AppConfig } from '../config/app-config';
import { MetricsService } from '../metrics/metrics.service';
import { RedisService } from '../redis/redis.service';
import { kdfGate, kdfLeases } from './kdf-gate';
import { LoginFailures } from './login-failures';

/** Which budget refused a request: `chat_rate_limited_total`'s scope, in snake case (`login_ip`). */
export type Limit = 'login-account' | 'login-ip' | 'auth-ip' | 'rest-user' | 'password-check';

/** Reads of all a user's rooms cost one more REST request per this many rooms (chargeRoomList). */
export const ROOMS_PER_REST_REQUEST = 50;

/**
 * Reads that list a room's members cost one more REST request per this many members
 * (chargeMemberList). The same rate as rooms: a member row took about what a room row does
 * (a room of 30,001 members was ~800 ms to list, 1,000 rooms 33 ms).
 */
export const MEMBERS_PER_REST_REQUEST = ROOMS_PER_REST_REQUEST;

/**
 * Anti-automation budgets, counted in Redis so every instance shares them:
 *  - failed logins per account per client address (LOGIN_FAILS_PER_ACCOUNT per
 *    LOGIN_FAIL_WINDOW_S), and per client address across all accounts (LOGIN_FAILS_PER_IP per
 *    LOGIN_FAILS_PER_IP_WINDOW_S), so that a stranger's wrong guesses lock out only their own
 *    address, not the account's owner (LoginFailures);
 *  - login and registration attempts per client address (AUTH_ATTEMPTS_PER_IP per
 *    AUTH_IP_WINDOW_S);
 *  - authenticated REST requests per user (REST_REQUESTS_PER_MIN).
 * Password work is bounded in this process's memory instead: one check at a time per
 * account, and the KdfGate's queue (kdf-gate.ts). While Redis does not answer, each
 * instance falls back to counting in its own memory (the insurance limiter) rather than
 * refusing everyone or letting everything through.
 */
@Injectable()
export class ThrottleService {
  private readonly loginFails: LoginFailures;
  private readonly authIp: RateLimiterRedis;
  private readonly restUser: RateLimiterRedis;
  private readonly rejected: Record<Limit, number> = {
    'login-account': 0,
    'login-ip': 0,
    'auth-ip': 0,
    'rest-user': 0,
    'password-check': 0,
  };

  constructor(
    config: AppConfig,
    redis: RedisService,
    private readonly metrics: MetricsService,
  ) {
    const make = (keyPrefix: string, points: number, duration: number, insurance?: RateLimiterMemory) =>
      new RateLimiterRedis({
        storeClient: redis.client,
        keyPrefix,
        points,
        duration,
        insuranceLimiter: insurance ?? new RateLimiterMemory({ keyPrefix, points, duration }),
      });
    this.loginFails = new LoginFailures(config, redis.client, make);
    this.authIp = make('rl:auth-ip', config.authAttemptsPerIp, config.authIpWindowS);
    this.restUser = make('rl:rest-user', config.restRequestsPerMin, 60);
    for (const limit of Object.keys(this.rejected) as Limit[]) metrics.rateLimited(scopeOf(limit), 0);
  }

  /** Refused requests per budget since boot (also exported as `chat_rate_limited_total{scope}`). */
  rejectedCounts(): Readonly<Record<Limit, number>> {
    return { ...this.rejected };
  }

  /** One login or registration attempt from this address. */
  async authAttempt(ip: string, res: Response): Promise<void> {
    await this.consume(this.authIp, ip, 'auth-ip', res);
  }

  /**
   * Reserves one failed attempt before the password is checked, from both budgets together:
   * the account's at this address and the address's. Each count is taken atomically in Redis
   * (rate-limiter-flexible's INCR script), so of concurrent attempts on any number of
   * instances at most each budget get checked, and the rest are refused, the right password
   * too. An attempt one budget refuses gives back the point the other took: a refusal checks
   * nothing, and must not spend the other budget (the owner retrying a forgotten password
   * would otherwise burn the address's daily budget on 429s). The caller gives the points
   * back (refundLoginFailure) when no verdict was reached, and clears the pair's count
   * (loginSucceeded, which gives the address's point back) when the password was right; a
   * wrong one keeps both. Counted per account whatever the case typed (login ignores case),
   * folded as usernameKey does, ASCII only, the one way login's lookup agrees with.
   */
  async reserveLoginFailure(username: string, ip: string, res: Response): Promise<void> {
    const refusal = await this.loginFails.reserve(username, ip);
    if (!refusal) return;
    for (const limit of refusal.limits) this.countRefusal(limit);
    throw this.refuseCounted(refusal.waitMs, res);
  }

  /**
   * Gives both reserved points back, each never below zero (refundPoint). While Redis does
   * not answer, the points were most likely reserved in the in-memory insurance limiters,
   * and they go back there, also never below zero: otherwise every login that reached no
   * verdict during an outage (a 400, a full KDF queue) would have spent one of the
   * attempts for the rest of the window.
   */
  async refundLoginFailure(username: string, ip: string): Promise<void> {
    await this.loginFails.refund(username, ip);
  }

  /**
   * A right password: clears the account's count at this address, and gives back the point
   * this attempt reserved from the address's budget (a success is no failure). The address's
   * count stays otherwise, as in the recipe: a guesser logging into an account of their own
   * between guesses would else get a new daily budget each time. Another address's failures
   * on the account stay too.
   */
  async loginSucceeded(username: string, ip: string): Promise<void> {
    await this.loginFails.succeeded(username, ip);
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
   * A read of all the user's rooms (`GET /chatrooms`, `GET /inbox`, and `GET /inbox/messages`,
   * which reads a page per room) costs its request and one more per ROOMS_PER_REST_REQUEST
   * rooms: at 1,000 rooms a list took 33 ms of the server, as much as some thirty plain requests, and a probe in 1,000 rooms took a core with them
   * within the per-user budget. Charged after the answer is built (it refuses nothing now:
   * the next requests are refused sooner).
   */
  async chargeRoomList(userId: number, rooms: number): Promise<void> {
    await this.chargeExtra(userId, Math.floor(rooms / ROOMS_PER_REST_REQUEST));
  }

  /**
   * A read that lists a room's members (`GET /chatrooms/:id`, the answer of `POST
   * /chatrooms/:id/members`, `GET /messages/:id/receipts` and its admin form `GET
   * /admin/messages/:id`) costs its request and one more per MEMBERS_PER_REST_REQUEST
   * members listed: a probe's loop over the detail of a room of 30,001 members (15.5 MB,
   * ~800 ms each) stayed far within the per-user budget and pushed another user's socket
   * acks to a p99 of 940 ms. Charged after the answer is built, as chargeRoomList is.
   */
  async chargeMemberList(userId: number, members: number): Promise<void> {
    await this.chargeExtra(userId, Math.floor(members / MEMBERS_PER_REST_REQUEST));
  }

  private async chargeExtra(userId: number, extra: number): Promise<void> {
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
    this.countRefusal(limit);
    return this.refuseCounted(msBeforeNext, res);
  }

  private countRefusal(limit: Limit): void {
    this.rejected[limit]++;
    this.metrics.rateLimited(scopeOf(limit));
  }

  /** The 429 of every budget (its refusal already counted). */
  private refuseCounted(msBeforeNext: number, res: Response): AppError {
    const retryAfterS = Math.max(1, Math.ceil(msBeforeNext / 1000));
    res.setHeader('Retry-After', String(retryAfterS));
    return new AppError(ErrorCode.RateLimited, `Too many requests: try again in ${retryAfterS} s`, {
      retryAfterMs: msBeforeNext,
    });
  }
}

/** Prometheus scopes are snake case, as the socket ones are (`socket_send`). */
const scopeOf = (limit: Limit): string => limit.replace(/-/g, '_');

function retryAfterOf(e: AppError): number | undefined {
  const ms = (e.details as { retryAfterMs?: unknown } | undefined)?.retryAfterMs;
  return typeof ms === 'number' ? ms : undefined;
}
