import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { AppError } from '../common/errors';
import type { AuthUser } from './auth.types';
import { IdentityService } from './identity.service';

/**
 * Admin routes read the role from the database on every call, past the identity cache:
 * a role changed outside the API (SQL, `admin:create`) is not even a cache TTL late here.
 */
@Injectable()
export class AdminGuard implements CanActivate {
  constructor(private readonly identity: IdentityService) {}

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    const user = ctx.switchToHttp().getRequest<{ user?: AuthUser }>().user;
    if (!user) return false;
    const row = await this.identity.user(user.id, true);
    if (row?.role !== 'admin' || row.disabled) throw AppError.forbidden('Admin only');
    return true;
  }
}
