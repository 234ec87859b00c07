import { Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { Pool } from 'pg';
import { AppConfig } from '../config/app-config';

/**
 * The PostgreSQL connection pool (node-postgres) of the process, or of the persistence
 * thread. PrismaService runs over it in the server; the persistence worker's statements use
 * it directly, so that the thread never loads Prisma's client at all (README, Performance).
 */
@Injectable()
export class DatabasePool extends Pool implements OnApplicationShutdown {
  private readonly logger = new Logger('DatabasePool');

  constructor(config: AppConfig) {
    super({
      connectionString: config.databaseUrl,
      max: 10,
      // A database that hangs keeps its connections open: without it a request waited for a
      // free one forever. Only the wait is bounded, not a statement already sent, which
      // finishes when the database answers: a write the client was told failed must not
      // complete later unannounced (DATABASE_CONNECT_TIMEOUT_MS).
      connectionTimeoutMillis: config.databaseConnectTimeoutMs || undefined,
    });
    // An idle connection that PostgreSQL ends (a restart, a failover, an idle-session killer)
    // is an 'error' event of the pool, which drops that client and connects anew on the next
    // query. Without a listener the event throws: it took the persistence thread down.
    this.on('error', (err) => this.logger.warn(`an idle database connection ended: ${err.message}`));
  }

  /**
   * At the end of the shutdown: Nest runs onModuleDestroy and beforeApplicationShutdown (where
   * the send path drains and the worker finishes its batch) before this, so they still have a
   * pool. It may run before PrismaService's $disconnect: harmless, the adapter never ends a
   * pool it was given.
   */
  async onApplicationShutdown(): Promise<void> {
    await this.end().catch(() => undefined);
  }
}
