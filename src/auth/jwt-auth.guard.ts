import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request, Response } from 'express';
import type { AuthUser } from './auth.types';
import { IS_PUBLIC } from './decorators';
import { ThrottleService } from './throttle.service';
import { bearerToken, TokenService } from './token.service';

/**
 * Global guard (APP_GUARD): every HTTP route needs a valid, unrevoked bearer token of a
 * live user unless @Public(), and counts against the user's REST budget.
 */
@Injectable()
export class JwtAuthGuard implements CanActivate {
  constructor(
    private readonly tokens: TokenService,
    private readonly throttle: ThrottleService,
    private readonly reflector: Reflector,
  ) {}

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    if (ctx.getType() !== 'http') return true; // sockets authenticate at the handshake
    const isPublic = this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, [ctx.getHandler(), ctx.getClass()]);
    if (isPublic) return true;
    const req = ctx.switchToHttp().getRequest<Request & { user?: AuthUser }>();
    req.user = await this.tokens.verify(bearerToken(req.headers.authorization));
    await this.throttle.restRequest(req.user.id, ctx.switchToHttp().getResponse<Response>());
    return true;
  }
}
