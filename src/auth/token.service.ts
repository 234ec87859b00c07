import { Injectable } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import { AppError, ErrorCode } from '../common/errors';
import type { AccessTokenClaims, AuthUser } from './auth.types';

/** Issues and verifies access tokens; shared by the HTTP guard and the socket handshake. */
@Injectable()
export class TokenService {
  constructor(private readonly jwt: JwtService) {}

  issue(user: AuthUser): Promise<string> {
    const claims: AccessTokenClaims = { sub: user.id, username: user.username, role: user.role };
    return this.jwt.signAsync(claims);
  }

  /** Throws UNAUTHORIZED for a missing, malformed, expired or forged token. */
  async verify(token: string | undefined): Promise<AuthUser> {
    if (!token) throw new AppError(ErrorCode.Unauthorized, 'Missing access token');
    try {
      const claims = await this.jwt.verifyAsync<AccessTokenClaims>(token, { algorithms: ['HS256'] });
      if (!Number.isInteger(claims.sub)) throw new Error('bad subject');
      return { id: claims.sub, username: claims.username, role: claims.role };
    } catch {
      throw new AppError(ErrorCode.Unauthorized, 'Invalid or expired access token');
    }
  }
}

/** `Bearer <token>` → token. */
export function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer\s+(\S+)$/i.exec(header ?? '');
  return match?.[1];
}
