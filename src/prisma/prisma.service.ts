import { Injectable, OnApplicationShutdown } from '@nestjs/common';
import { PrismaPg } from '@prisma/adapter-pg';
import { Pool } from 'pg';
import { AppConfig } from '../config/app-config';
import { PrismaClient } from '../generated/prisma/client';

/**
 * The one PrismaClient of the process (Prisma 7: driver adapter over node-postgres). Its
 * pool is exposed for the few hot statements (the persistence worker's batch insert) that
 * are cheaper as plain parameterised SQL than through the query engine.
 */
@Injectable()
export class PrismaService extends PrismaClient implements OnApplicationShutdown {
  readonly pool: Pool;

  constructor(config: AppConfig) {
    const pool = new Pool({ connectionString: config.databaseUrl, max: 10 });
    super({ adapter: new PrismaPg(pool) });
    this.pool = pool;
  }

  /**
   * Last of the shutdown: Nest runs onModuleDestroy and beforeApplicationShutdown (where the
   * send path drains and the worker finishes its batch) before this, so they still have a pool.
   */
  async onApplicationShutdown(): Promise<void> {
    await this.$disconnect();
    await this.pool.end().catch(() => undefined);
  }
}
