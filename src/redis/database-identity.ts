import { FactoryProvider, Logger } from '@nestjs/common';
import { useKeyNamespace } from '../common/constants';
import type { Pool } from 'pg';
import { DatabasePool } from '../prisma/database-pool';
import { migrateLegacyKeys } from './legacy-keys';
import { RedisService } from './redis.service';

/**
 * The identity of the PostgreSQL database this process serves: the random id its migration
 * created (table database_identity). `tag`, its first 12 hex digits, is the namespace of
 * every Redis name (see useKeyNamespace), so Redis state left from another database (one
 * dropped and recreated, a restored copy of another) is never read as this one's.
 */
export class DatabaseIdentity {
  readonly tag: string;

  constructor(readonly id: string) {
    this.tag = id.replace(/-/g, '').slice(0, 12).toLowerCase();
  }

  /** Reads the identity; the app cannot start without it (it names every Redis key). */
  static async read(pool: Pool): Promise<DatabaseIdentity> {
    const { rows } = await pool.query<{ id: string }>('SELECT id::text AS id FROM database_identity');
    if (rows.length !== 1) {
      throw new Error('table database_identity must hold one row: apply the migrations (npm run db:prepare)');
    }
    return new DatabaseIdentity(rows[0].id);
  }
}

export const databaseIdentityProvider: FactoryProvider<DatabaseIdentity> = {
  provide: DatabaseIdentity,
  inject: [DatabasePool, RedisService],
  useFactory: async (pool: DatabasePool, redis: RedisService) => {
    const identity = await DatabaseIdentity.read(pool);
    useKeyNamespace(identity.tag);
    const logger = new Logger('DatabaseIdentity');
    logger.debug(`database ${identity.id}: Redis namespace ${identity.tag}`);
    // Redis away at boot: nothing to move now, the server still comes up (/health says 503).
    await migrateLegacyKeys(redis, logger).catch((e: Error) => logger.warn(`legacy Redis keys: ${e.message}`));
    return identity;
  },
};
