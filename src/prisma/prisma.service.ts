import { Injectable, OnApplicationShutdown } from '@nestjs/common';
import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from '../generated/prisma/client';
import { DatabasePool } from './database-pool';

/**
 * The one PrismaClient of the server (Prisma 7: driver adapter over node-postgres). Its
 * pool is exposed for the few hot statements that are cheaper as plain parameterised SQL
 * than through the query engine. The pool is DatabasePool's, which closes it.
 */
@Injectable()
export class PrismaService extends PrismaClient implements OnApplicationShutdown {
  readonly pool: DatabasePool;

  constructor(pool: DatabasePool) {
    super({ adapter: new PrismaPg(pool) });
    this.pool = pool;
  }

  async onApplicationShutdown(): Promise<void> {
    await this.$disconnect();
  }
}
