import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import type { Request, Response } from 'express';
import { clientAddress } from './decorators';
import { ThrottleService } from './throttle.service';
import { USERNAME_MAX_LENGTH, usernameKey } from './username';

/**
 * The statuses of a login that reached a verdict on the password: 401 keeps the reserved
 * failure, 200 and 403 (disabled, right password) cleared the count. Any other answer (400
 * from validation, 429 from the KDF gate, 5xx) checked nothing and gives the point back.
 */
const VERDICTS = new Set([200, 401, 403]);

/**
 * On login and registration, before any password is hashed or checked: the client
 * address's attempt budget and room in the KDF queue; for a login also the account's one
 * password check in flight, and one failed attempt reserved from its budget (a locked
 * account is refused even with the right password, so guessing gains nothing). Done here,
 * not in AuthService, because a refusal needs the response for its Retry-After header.
 */
@Injectable()
export class AuthThrottleGuard implements CanActivate {
  constructor(private readonly throttle: ThrottleService) {}

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    const req = ctx.switchToHttp().getRequest<Request>();
    const res = ctx.switchToHttp().getResponse<Response>();
    const ip = clientAddress(req);
    await this.throttle.authAttempt(ip, res);
    this.throttle.admitKdf(res);
    const username: unknown = (req.body as { username?: unknown } | undefined)?.username;
    if (req.path.endsWith('/login') && typeof username === 'string') await this.holdLogin(username, ip, res);
    return true;
  }

  /**
   * Claims the account's check and reserves its failure points (the account's at this address,
   * and the address's) until the response is done. A client that hangs up ends the claim
   * early while its check still runs; its points stay reserved, so that buys it nothing.
   */
  private async holdLogin(username: string, ip: string, res: Response): Promise<void> {
    // Longer than any username: validation answers 400, and no Redis key of a hostile length is made.
    if (username.length > USERNAME_MAX_LENGTH) return;
    const release = this.throttle.claimPasswordCheck(`login:${usernameKey(username)}`, res);
    let reserved = false;
    // Before any await: 'close' is emitted once, and a client that hangs up meanwhile must not
    // leave the account's claim held (every later login of it on this instance refused).
    res.once('close', () => {
      release();
      if (reserved && !VERDICTS.has(res.statusCode)) void this.throttle.refundLoginFailure(username, ip);
    });
    if (res.closed) release(); // it hung up before this guard ran
    await this.throttle.reserveLoginFailure(username, ip, res);
    reserved = true;
  }
}
