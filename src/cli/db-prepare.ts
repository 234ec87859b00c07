import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { loadConfig } from '../config/load-config';
import { loadDotenv } from '../config/load-dotenv';
import { checkDependencies } from './preflight';

/**
 * `npm run db:prepare`: checks that PostgreSQL and Redis answer, then applies pending
 * migrations with Prisma's CLI (`migrate deploy` creates the database if it is missing).
 * Run by `npm start` before the server, and by the container before it serves.
 */
export function migrateDeploy(databaseUrl: string): void {
  const root = path.resolve(__dirname, '..', '..', '..');
  const cli = require.resolve('prisma/build/index.js', { paths: [root] });
  const res = spawnSync(process.execPath, [cli, 'migrate', 'deploy'], {
    cwd: root,
    env: { ...process.env, DATABASE_URL: databaseUrl },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  if (res.status !== 0) throw new Error(`prisma migrate deploy failed (exit ${res.status ?? res.signal})`);
}

async function main(): Promise<void> {
  loadDotenv(); // as the server does: both must see the same DATABASE_URL
  const config = loadConfig();
  const { dbExists } = await checkDependencies(config, { allowMissingDb: true });
  if (!dbExists) console.log('database missing: migrate deploy will create it');
  migrateDeploy(config.databaseUrl);
}

if (require.main === module) {
  main().catch((err: Error) => {
    console.error(`db:prepare failed: ${err.message}`);
    process.exit(1);
  });
}
