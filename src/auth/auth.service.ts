import { Injectable } from '@nestjs/common';
import { AppError, ErrorCode } from '../common/errors';
import { Prisma } from '../generated/prisma/client';
import { PrismaService } from '../prisma/prisma.service';
import { PrivateUser, toPrivateUser } from '../users/user.presenter';
import { LoginDto, RegisterDto } from './dto/auth.dto';
import { dummyHash, hashPassword, verifyPassword } from './password';
import { ThrottleService } from './throttle.service';
import { TokenService } from './token.service';
import { findByUsername } from './username';

@Injectable()
export class AuthService {
  constructor(
    private readonly prisma: PrismaService,
    private readonly tokens: TokenService,
    private readonly throttle: ThrottleService,
  ) {}

  async register(dto: RegisterDto): Promise<PrivateUser> {
    const passwordHash = await hashPassword(dto.password);
    try {
      const user = await this.prisma.user.create({
        data: {
          username: dto.username,
          passwordHash,
          nickName: dto.nickName ?? dto.username,
          email: dto.email?.toLowerCase(),
          headPic: dto.headPic ?? '',
        },
      });
      return toPrivateUser(user);
    } catch (err) {
      if (err instanceof Prisma.PrismaClientKnownRequestError && err.code === 'P2002') {
        const field = JSON.stringify(err.meta ?? {}).includes('email') ? 'email' : 'username';
        throw new AppError(ErrorCode.Conflict, `That ${field} is already taken`, [{ field, errors: ['taken'] }]);
      }
      throw err;
    }
  }

  /**
   * Same answer, and about the same time, for an unknown user and a wrong password. The
   * caller (AuthThrottleGuard) has already reserved one failed attempt of the account's
   * budget at the client address `ip`, and of the address's, and holds the account's one
   * password check: a wrong password or an unknown user keeps those points, a successful
   * login clears the account's count at that address. A disabled account is refused
   * only after its password was right, so the refusal tells a guesser nothing.
   *
   * Usernames are unique regardless of case (users_username_lower_key), so any case names
   * the one account, and counts against its one budget (ThrottleService).
   */
  async login(dto: LoginDto, ip: string): Promise<{ accessToken: string; user: PrivateUser }> {
    const user = await findByUsername(this.prisma, dto.username);
    const ok = await verifyPassword(dto.password, user?.passwordHash ?? (await dummyHash()));
    if (!user || !ok) throw new AppError(ErrorCode.Unauthorized, 'Invalid username or password');
    await this.throttle.loginSucceeded(dto.username, ip);
    if (user.disabledAt) throw AppError.forbidden('This account is disabled');
    const accessToken = await this.tokens.issue(user);
    return { accessToken, user: toPrivateUser(user) };
  }
}
