import { Injectable } from '@nestjs/common';
import { isUUID } from 'class-validator';
import type { Response } from 'express';
import { AppError, ErrorCode } from '../common/errors';
import type { Prisma, UserRole } from '../generated/prisma/client';
import { PrismaService } from '../prisma/prisma.service';
import type { AuthUser } from './auth.types';
import type { ChangePasswordDto } from './dto/session.dto';
import { IdentityService } from './identity.service';
import { hashPassword, verifyPassword } from './password';
import { ThrottleService } from './throttle.service';

/**
 * Taken (for the transaction) by every change that can take an admin away: two admins
 * disabling or demoting each other at once would otherwise each count the other, and
 * leave none.
 */
const ADMINS_LOCK = 0x61646d6e; // "admn"

/** How long a token without an `exp` (none are issued) stays deny-listed: the longest JWT_EXPIRES_IN we expect. */
const FALLBACK_TTL_S = 30 * 24 * 3600;

/**
 * Taking identities back: one token (logout), every token (logout-all, password change,
 * disable), and role changes. Each writes the user row first, then announces the change
 * (IdentityService.changed), which drops cached copies and sockets on every instance.
 */
@Injectable()
export class SessionsService {
  constructor(
    private readonly prisma: PrismaService,
    private readonly identity: IdentityService,
    private readonly throttle: ThrottleService,
  ) {}

  async logout(user: AuthUser): Promise<void> {
    if (!user.sessionId) return;
    const expiresAt = user.expiresAt ?? Date.now() / 1000 + FALLBACK_TTL_S;
    await this.identity.revokeSession(user.id, user.sessionId, expiresAt);
  }

  async logoutAll(user: AuthUser): Promise<void> {
    await this.bumpVersion(user.id, { keptSessionId: null });
    await this.identity.changed({ userId: user.id, disconnect: 'all' });
  }

  /**
   * The presenting token stays valid (its jti is kept on the row); every other token of the
   * user is revoked and their sockets closed. A wrong current password counts as a failed
   * login, so a stolen token cannot be used to guess the password faster than login allows.
   * One change per user at a time per instance: a second one meanwhile is refused at once
   * (429), before any hashing, so one user cannot fill the KDF queue for everyone.
   *
   * The new hash is written only over the hash the current password was checked against
   * (compare-and-set in the UPDATE): of concurrent changes, on any number of instances, one
   * wins and the others find their current password no longer current. Those are not
   * counted as failed logins: they knew the password. A logout-all or a disable meanwhile
   * wins over the change (401): it revoked the session that asked.
   */
  async changePassword(user: AuthUser, dto: ChangePasswordDto, ip: string, res: Response): Promise<void> {
    const release = this.throttle.claimPasswordCheck(`user:${user.id}`, res);
    try {
      const row = await this.checkCurrentPassword(user, dto.currentPassword, ip, res);
      const passwordHash = await this.throttle.passwordWork(res, () => hashPassword(dto.newPassword));
      // A token from before jti existed is named by its hash, which is no session id to keep:
      // it goes with the others, and its holder logs in with the new password.
      const kept = user.sessionId && isUUID(user.sessionId) ? user.sessionId : null;
      // Also over the token version that was read: a logout-all or a disable while the new
      // hash was computed revoked this session, and keeping it here would bring it back.
      const { count } = await this.prisma.user.updateMany({
        where: { id: user.id, passwordHash: row.passwordHash, tokenVersion: row.tokenVersion },
        data: { passwordHash, keptSessionId: kept, tokenVersion: { increment: 1 } },
      });
      if (count === 0) {
        const now = await this.prisma.user.findUnique({ where: { id: user.id }, select: { passwordHash: true } });
        if (now?.passwordHash !== row.passwordHash) throw wrongCurrentPassword();
        throw new AppError(ErrorCode.Unauthorized, 'This session was revoked meanwhile: log in again');
      }
    } finally {
      release();
    }
    await this.identity.changed({ userId: user.id, sessionId: user.sessionId, disconnect: 'others' });
  }

  /**
   * One failed attempt is reserved before the check (ThrottleService.reserveLoginFailure),
   * from the same budgets as a login from this address, so concurrent wrong guesses cannot
   * outrun them; only a wrong password keeps it.
   */
  private async checkCurrentPassword(user: AuthUser, password: string, ip: string, res: Response) {
    await this.throttle.reserveLoginFailure(user.username, ip, res);
    let wrong = false;
    try {
      const row = await this.prisma.user.findUnique({
        where: { id: user.id },
        select: { passwordHash: true, tokenVersion: true },
      });
      if (!row) throw AppError.notFound('User');
      wrong = !(await this.throttle.passwordWork(res, () => verifyPassword(password, row.passwordHash)));
      if (wrong) throw wrongCurrentPassword();
      return row;
    } finally {
      if (!wrong) await this.throttle.refundLoginFailure(user.username, ip);
    }
  }

  /** Disabling revokes every token (the version moves on); enabling does not bring them back. */
  async setDisabled(adminId: number, userId: number, disabled: boolean): Promise<void> {
    if (disabled) {
      await this.keepingAnAdmin(userId, {
        disabledAt: new Date(),
        keptSessionId: null,
        tokenVersion: { increment: 1 },
      });
    } else {
      await this.update(userId, { disabledAt: null });
    }
    await this.identity.changed({ userId, disconnect: disabled ? 'all' : undefined });
    await this.audit(adminId, disabled ? 'users.disable' : 'users.enable', userId, {});
  }

  /** Sockets hold the role they connected with: a change closes them, clients reconnect with it. */
  async setRole(adminId: number, userId: number, role: UserRole): Promise<void> {
    if (role === 'admin') await this.update(userId, { role });
    else await this.keepingAnAdmin(userId, { role });
    await this.identity.changed({ userId, disconnect: 'all' });
    await this.audit(adminId, 'users.role', userId, { role });
  }

  /**
   * An update that takes away an admin (disable, demote) unless it is the last enabled one:
   * nobody could then reach the admin routes again but through the server's CLI.
   */
  private async keepingAnAdmin(userId: number, data: Prisma.UserUpdateManyMutationInput): Promise<void> {
    await this.prisma.$transaction(async (tx) => {
      await tx.$executeRaw`SELECT pg_advisory_xact_lock(${ADMINS_LOCK})`;
      const target = await tx.user.findUnique({ where: { id: userId }, select: { role: true, disabledAt: true } });
      if (!target) throw AppError.notFound('User');
      if (target.role === 'admin' && !target.disabledAt) {
        const others = await tx.user.count({ where: { role: 'admin', disabledAt: null, id: { not: userId } } });
        if (others === 0) {
          throw new AppError(ErrorCode.Conflict, 'This is the last enabled admin: make another admin first');
        }
      }
      await tx.user.updateMany({ where: { id: userId }, data });
    });
  }

  private bumpVersion(userId: number, data: Prisma.UserUpdateManyMutationInput): Promise<void> {
    return this.update(userId, { ...data, tokenVersion: { increment: 1 } });
  }

  private async update(userId: number, data: Prisma.UserUpdateManyMutationInput): Promise<void> {
    const { count } = await this.prisma.user.updateMany({ where: { id: userId }, data });
    if (count === 0) throw AppError.notFound('User');
  }

  private async audit(adminId: number, action: string, userId: number, details: Record<string, string>) {
    await this.prisma.adminAudit.create({ data: { adminId, action, targetIds: [String(userId)], details } });
  }
}

/** What a wrong currentPassword answers: 400, not 401, which would read as "logged out". */
function wrongCurrentPassword(): AppError {
  return AppError.validation('The current password is wrong', [
    { field: 'currentPassword', errors: ['currentPassword is wrong'] },
  ]);
}
