import { Injectable } from '@nestjs/common';
import type { AuthUser } from '../auth/auth.types';
import { AppError } from '../common/errors';
import { PrismaService } from '../prisma/prisma.service';
import { PrivateUser, PublicUser, toPrivateUser, toPublicUser } from './user.presenter';

@Injectable()
export class UsersService {
  constructor(private readonly prisma: PrismaService) {}

  async me(caller: AuthUser): Promise<PrivateUser> {
    const user = await this.prisma.user.findUnique({ where: { id: caller.id } });
    if (!user) throw AppError.notFound('User');
    return toPrivateUser(user);
  }

  /** Owners and admins see the private fields; everyone else the public ones. */
  async get(caller: AuthUser, id: number): Promise<PublicUser | PrivateUser> {
    const user = await this.prisma.user.findUnique({ where: { id } });
    if (!user) throw AppError.notFound('User');
    return caller.id === id || caller.role === 'admin' ? toPrivateUser(user) : toPublicUser(user);
  }
}
