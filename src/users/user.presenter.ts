import type { User } from '../generated/prisma/client';

/** The public face of a user: what any other user may see. */
export interface PublicUser {
  id: number;
  username: string;
  nickName: string;
  headPic: string;
  createdAt: Date;
}

/** What the user itself and admins see. */
export interface PrivateUser extends PublicUser {
  email: string | null;
  role: User['role'];
}

export const PUBLIC_USER_SELECT = {
  id: true,
  username: true,
  nickName: true,
  headPic: true,
  createdAt: true,
} as const;

export function toPublicUser(u: PublicUser): PublicUser {
  return { id: u.id, username: u.username, nickName: u.nickName, headPic: u.headPic, createdAt: u.createdAt };
}

export function toPrivateUser(u: User): PrivateUser {
  return { ...toPublicUser(u), email: u.email, role: u.role };
}
