import { config } from 'dotenv';

/**
 * Reads `.env` from the working directory, as Prisma's config (prisma.config.ts) already
 * does, so the server and the migrations see the same settings. A variable already in the
 * environment wins over the file.
 */
export function loadDotenv(): void {
  config({ quiet: true });
}
