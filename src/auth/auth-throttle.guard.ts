import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import type { Request, Response } from 'express';
import { ThrottleService } from './throttle.service';

/**
 * On login and registration, before any password is hashed or checked: the client
 * address's attempt budget, and for a login the account's failed-attempt budget (a locked
 * account is refused even with the right password, so guessing gains nothing).
 */
@Injectable()
export class AuthThrottleGuard implements CanActivate {
  constructor(private readonly throttle: ThrottleService) {}

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    const req = ctx.switchToHttp().getRequest<Request>();
    const res = ctx.switchToHttp().getResponse<Response>();
    await this.throttle.authAttempt(req.ip ?? req.socket.remoteAddress ?? 'unknown', res);
    const username: unknown = (req.body as { username?: unknown } | undefined)?.username;
    if (req.path.endsWith('/login') && typeof username === 'string') {
      await this.throttle.checkLoginAccount(username, res);
    }
    return true;
  }
}
