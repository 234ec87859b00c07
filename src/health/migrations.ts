import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';

/**
 * The migrations shipped with this build: the folders of prisma/migrations, found by
 * walking up from here (dist/src/health in a build, src/health under ts-jest/swc).
 */
export function shippedMigrations(from = __dirname): string[] {
  for (let dir = from; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'prisma', 'migrations');
    if (existsSync(candidate)) {
      return readdirSync(candidate, { withFileTypes: true })
        .filter((e) => e.isDirectory())
        .map((e) => e.name)
        .sort();
    }
    if (path.dirname(dir) === dir) return [];
  }
}
