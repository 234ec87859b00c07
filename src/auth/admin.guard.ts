import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { AppError } from '../common/errors';
import { PrismaService } from '../prisma/prisma.service';
import type { AuthUser } from './auth.types';

/**
 * Admin routes check the role in the database, not only in the token: a demoted admin's
 * still-valid token must stop working at once.
 */
@Injectable()
export class AdminGuard implements CanActivate {
  constructor(private readonly prisma: PrismaService) {}

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    const user = ctx.switchToHttp().getRequest<{ user?: AuthUser }>().user;
    if (!user) return false;
    const row = await this.prisma.user.findUnique({ where: { id: user.id }, select: { role: true } });
    if (row?.role !== 'admin') throw AppError.forbidden('Admin only');
    return true;
  }
}
