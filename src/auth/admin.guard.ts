import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { AppError } from '../common/errors';
import type { AuthUser } from './auth.types';
import { IdentityService } from './identity.service';

/** Admin routes read the role from the database on every call (IdentityService.isAdmin). */
@Injectable()
export class AdminGuard implements CanActivate {
  constructor(private readonly identity: IdentityService) {}

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    const user = ctx.switchToHttp().getRequest<{ user?: AuthUser }>().user;
    if (!user) return false;
    if (!(await this.identity.isAdmin(user.id))) throw AppError.forbidden('Admin only');
    return true;
  }
}
