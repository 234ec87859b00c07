import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { preparePortClaims } from '../utils/processes';
import { assertTestTargets, TEST_DATABASE_URL } from './test-env';

/**
 * Once per `npm test`: makes sure the test database exists and carries every migration
 * (Prisma's `migrate deploy` creates it when missing). Refuses non-test targets.
 */
export default function globalSetup(): void {
  assertTestTargets();
  if (!process.env.E2E_PORT_DIR) preparePortClaims();
  const root = path.resolve(__dirname, '..', '..');
  const res = spawnSync(process.execPath, [require.resolve('prisma/build/index.js'), 'migrate', 'deploy'], {
    cwd: root,
    env: { ...process.env, DATABASE_URL: TEST_DATABASE_URL },
    encoding: 'utf8',
  });
  if (res.status !== 0) {
    throw new Error(`migrate deploy on the test database failed:\n${res.stdout}\n${res.stderr}`);
  }
}
