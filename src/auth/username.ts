import type { PrismaClient } from '../generated/prisma/client';

/** What a username may be made of (registration enforces it): ASCII, so case folds one way everywhere. */
const USERNAME = /^[A-Za-z0-9_]{1,32}$/;

/**
 * The key of a username's account whatever case it is typed in: ASCII lower case. Not
 * `toLowerCase()`: it and PostgreSQL's `lower()` fold some non-ASCII letters differently
 * (U+0130 to "i" plus a dot, or to "i"), so "ADMİN" found the account `admin` under a
 * budget key of its own. Only names of ASCII letters are looked up (findByUsername).
 */
export const usernameKey = (username: string): string => username.replace(/[A-Z]/g, (c) => c.toLowerCase());

/**
 * The account of this username, in whatever case it is typed: usernames are unique
 * regardless of case (users_username_lower_key, whose expression this matches), and keep the
 * case they were registered with. A name that no username could be is nobody's, unread.
 * Two probes by index: the id by lower(username), then the row.
 */
export async function findByUsername(prisma: PrismaClient, username: string) {
  if (!USERNAME.test(username)) return null;
  const [row] = await prisma.$queryRaw<
    { id: number }[]
  >`SELECT id FROM users WHERE lower(username) = lower(${username})`;
  return row ? prisma.user.findUnique({ where: { id: row.id } }) : null;
}

/** The longest username (LoginDto, RegisterDto). */
export const USERNAME_MAX_LENGTH = 32;
