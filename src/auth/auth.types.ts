import type { UserRole } from '../generated/prisma/client';

/** What a verified access token says about its bearer. */
export interface AuthUser {
  id: number;
  username: string;
  role: UserRole;
}

/** JWT claims. `sub` is the user id. */
export interface AccessTokenClaims {
  sub: number;
  username: string;
  role: UserRole;
}
