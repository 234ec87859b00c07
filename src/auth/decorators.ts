import { createParamDecorator, ExecutionContext, SetMetadata } from '@nestjs/common';
import type { Request } from 'express';
import type { AuthUser } from './auth.types';

export const IS_PUBLIC = 'isPublic';
/** Opts a route out of the global JWT guard (register, login, health, docs). */
export const Public = () => SetMetadata(IS_PUBLIC, true);

/**
 * The address the throttling budgets count the client by: `req.ip`, which TRUST_PROXY decides
 * (X-Forwarded-For or the TCP peer). Express leaves it undefined once the socket is gone.
 */
export const clientAddress = (req: Request): string => req.ip ?? req.socket.remoteAddress ?? 'unknown';

/** The caller's clientAddress, for the handlers whose service counts failed logins. */
export const ClientAddress = createParamDecorator((_: unknown, ctx: ExecutionContext): string =>
  clientAddress(ctx.switchToHttp().getRequest<Request>()),
);

/** The authenticated caller, as the guard verified it. Never a client-sent id. */
export const CurrentUser = createParamDecorator((_: unknown, ctx: ExecutionContext): AuthUser => {
  return ctx.switchToHttp().getRequest<{ user: AuthUser }>().user;
});
