import type { UserRole } from '../generated/prisma/client';

/** What a verified access token says about its bearer, with the role as stored now. */
export interface AuthUser {
  id: number;
  username: string;
  role: UserRole;
  /** The token's id (jti): what logout revokes and a password change keeps. */
  sessionId?: string;
  /** The token's expiry, seconds since the epoch. */
  expiresAt?: number;
  /** The user's token version the token carries (`ver`, 0 when absent): sockets are re-checked against it. */
  tokenVersion?: number;
}

/** JWT claims. `sub` is the user id; `ver` the user's token version at issue. */
export interface AccessTokenClaims {
  sub: number;
  username: string;
  role: UserRole;
  ver?: number;
  jti?: string;
  exp?: number;
}
