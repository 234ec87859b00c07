import type { PrismaClient } from '../generated/prisma/client';

/**
 * The account of this username, in whatever case it is typed: usernames are unique
 * regardless of case (users_username_lower_key, whose expression this matches), and keep the
 * case they were registered with. One index probe.
 */
export async function findByUsername(prisma: PrismaClient, username: string) {
  const [row] = await prisma.$queryRaw<
    { id: number }[]
  >`SELECT id FROM users WHERE lower(username) = lower(${username})`;
  return row ? prisma.user.findUnique({ where: { id: row.id } }) : null;
}
