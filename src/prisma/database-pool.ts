import { Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { Pool } from 'pg';
import { AppConfig } from '../config/app-config';

/** The longest a request waits to connect, or for a free connection of the pool. */
const CONNECT_TIMEOUT_MS = 5000;

/**
 * The PostgreSQL connection pool (node-postgres) of the process, or of the persistence
 * thread. PrismaService runs over it in the server; the persistence worker's statements use
 * it directly, so that the thread never loads Prisma's client at all (README, Performance).
 */
@Injectable()
export class DatabasePool extends Pool implements OnApplicationShutdown {
  private readonly logger = new Logger('DatabasePool');

  constructor(config: AppConfig) {
    const timeout = config.databaseQueryTimeoutMs || undefined;
    super({
      connectionString: config.databaseUrl,
      max: 10,
      // A database that hangs keeps its connections open: without these, node-postgres
      // waits for it forever, and so did every request (DATABASE_QUERY_TIMEOUT_MS).
      query_timeout: timeout,
      connectionTimeoutMillis: timeout && Math.min(timeout, CONNECT_TIMEOUT_MS),
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
