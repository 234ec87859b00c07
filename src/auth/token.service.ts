import { createHash, randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import { isUUID } from 'class-validator';
import { AppError, ErrorCode } from '../common/errors';
import { MAX_INT4 } from '../common/input-rules';
import { AppConfig } from '../config/app-config';
import type { AccessTokenClaims, AuthUser } from './auth.types';
import { IdentityService, LiveUser } from './identity.service';

const invalid = () => new AppError(ErrorCode.Unauthorized, 'Invalid or expired access token');

/** Clock skew between instances a token's `exp` may carry beyond this one's lifetime. */
const EXP_SKEW_S = 60;
const UNIT_SECONDS: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86_400 };

/** JWT_EXPIRES_IN in seconds: a number is seconds (as jsonwebtoken reads it), else `<n><unit>`. */
export function lifetimeSeconds(expiresIn: string | number): number {
  if (typeof expiresIn === 'number') return expiresIn;
  const m = /^(\d+)(ms|s|m|h|d)?$/.exec(expiresIn);
  if (!m) throw new Error(`JWT_EXPIRES_IN "${expiresIn}" is not a duration`);
  return Number(m[1]) * UNIT_SECONDS[m[2] ?? 's'];
}

/**
 * Issues and verifies access tokens; shared by the HTTP guard and the socket handshake.
 * A token is honoured only while its user exists, is not disabled, still has the token
 * version the token carries (or this token is the one a password change kept) and the
 * token itself was not logged out. The role comes from the user as stored, not the token.
 */
@Injectable()
export class TokenService {
  private readonly lifetimeS: number;

  constructor(
    private readonly jwt: JwtService,
    private readonly identity: IdentityService,
    config: AppConfig,
  ) {
    this.lifetimeS = lifetimeSeconds(config.jwtExpiresIn);
  }

  async issue(user: Pick<LiveUser, 'id' | 'username' | 'role' | 'tokenVersion'>): Promise<string> {
    const claims: AccessTokenClaims = {
      sub: user.id,
      username: user.username,
      role: user.role,
      ver: user.tokenVersion,
      jti: randomUUID(),
    };
    return this.jwt.signAsync(claims);
  }

  /** Throws UNAUTHORIZED for a missing, malformed, expired, forged or revoked token. */
  async verify(token: string | undefined): Promise<AuthUser> {
    if (!token) throw new AppError(ErrorCode.Unauthorized, 'Missing access token');
    let verified: { header: Record<string, unknown>; payload: AccessTokenClaims };
    try {
      verified = await this.jwt.verifyAsync(token, { algorithms: ['HS256'], complete: true });
    } catch {
      throw invalid();
    }
    const claims = verified.payload;
    // Claims signed with our secret can still be of any shape (a token minted by a tool, or
    // by an older version): a user id outside PostgreSQL's integer failed in the lookup, and
    // a jti that is not a UUID in the password change, which keeps it in a uuid column (500s).
    if (!isUserId(claims.sub) || (claims.jti !== undefined && !isUUID(claims.jti))) throw invalid();
    // Every token we issue expires; one without exp would be valid forever, and its sockets
    // never closed at expiry. `crit` names header extensions the signer requires the reader to
    // understand, and we understand none (RFC 7515, 4.1.11).
    if (typeof claims.exp !== 'number' || 'crit' in verified.header) throw invalid();
    // Nor does any token we issue expire later than one issued now would: `exp: 1e300`, signed
    // with the secret (a leaked or tool-made token), would be a session nothing ends but a
    // revocation. Shortening JWT_EXPIRES_IN thus also ends longer tokens issued before.
    if (claims.exp > Date.now() / 1000 + this.lifetimeS + EXP_SKEW_S) throw invalid();
    // Tokens from before revocation existed carry no jti: the token's own hash names them.
    const sessionId = claims.jti ?? createHash('sha256').update(token).digest('hex');
    const [user, revoked] = await Promise.all([this.identity.user(claims.sub), this.identity.isRevoked(sessionId)]);
    if (!user || user.disabled || revoked) throw invalid();
    const tokenVersion = claims.ver ?? 0;
    const current = tokenVersion === user.tokenVersion || (!!claims.jti && claims.jti === user.keptSessionId);
    if (!current) throw invalid();
    return { id: user.id, username: user.username, role: user.role, sessionId, expiresAt: claims.exp, tokenVersion };
  }
}

function isUserId(sub: unknown): sub is number {
  return typeof sub === 'number' && Number.isInteger(sub) && sub >= 1 && sub <= MAX_INT4;
}

/** `Bearer <token>` → token. */
export function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer\s+(\S+)$/i.exec(header ?? '');
  return match?.[1];
}
