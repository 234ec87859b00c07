import { createParamDecorator, ExecutionContext, SetMetadata } from '@nestjs/common';
import type { AuthUser } from './auth.types';

export const IS_PUBLIC = 'isPublic';
/** Opts a route out of the global JWT guard (register, login, health, docs). */
export const Public = () => SetMetadata(IS_PUBLIC, true);

/** The authenticated caller, as the guard verified it. Never a client-sent id. */
export const CurrentUser = createParamDecorator((_: unknown, ctx: ExecutionContext): AuthUser => {
  return ctx.switchToHttp().getRequest<{ user: AuthUser }>().user;
});
