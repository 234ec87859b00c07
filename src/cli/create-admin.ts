import { PrismaPg } from '@prisma/adapter-pg';
import { hashPassword } from '../auth/password';
import { findByUsername } from '../auth/username';
import { loadConfig } from '../config/load-config';
import { loadDotenv } from '../config/load-dotenv';
import { PrismaClient } from '../generated/prisma/client';

/**
 * `npm run admin:create -- <username>` with the password in ADMIN_PASSWORD (kept out of
 * shell history and `ps`). Creates the user as an admin, or promotes an existing one
 * (and then leaves its password alone unless ADMIN_PASSWORD is given).
 */
async function main(): Promise<void> {
  const username = process.argv[2];
  const password = process.env.ADMIN_PASSWORD;
  if (!username || !/^[A-Za-z0-9_]{3,32}$/.test(username)) {
    throw new Error('usage: ADMIN_PASSWORD=... npm run admin:create -- <username> (3-32 of A-Z a-z 0-9 _)');
  }
  if (password !== undefined && (password.length < 8 || password.length > 128)) {
    throw new Error('ADMIN_PASSWORD must be 8-128 characters');
  }
  loadDotenv(); // as the server does: both must see the same DATABASE_URL
  const config = loadConfig();
  const prisma = new PrismaClient({ adapter: new PrismaPg({ connectionString: config.databaseUrl }) });
  try {
    const existing = await findByUsername(prisma, username);
    if (existing && existing.username !== username) {
      throw new Error(`the user is ${existing.username} (usernames ignore case): give that name`);
    }
    if (!existing && !password) throw new Error(`user ${username} does not exist: set ADMIN_PASSWORD to create it`);
    const passwordHash = password ? await hashPassword(password) : undefined;
    // Not an upsert: its `create` branch is validated even when the user exists, and a
    // promotion without ADMIN_PASSWORD has no hash to give it.
    const user = existing
      ? await prisma.user.update({
          where: { id: existing.id },
          // A new password revokes the account's tokens, as a password change does.
          data: { role: 'admin', ...(passwordHash ? { passwordHash, tokenVersion: { increment: 1 } } : {}) },
        })
      : await prisma.user.create({
          data: { username, nickName: username, passwordHash: passwordHash!, role: 'admin' },
        });
    console.log(`${existing ? 'promoted' : 'created'} admin ${user.username} (id ${user.id})`);
  } finally {
    await prisma.$disconnect();
  }
}

main().catch((err: Error) => {
  console.error(`admin:create failed: ${err.message}`);
  process.exit(1);
});
