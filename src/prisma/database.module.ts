import { Global, Module } from '@nestjs/common';
import { DatabasePool } from './database-pool';

/** The connection pool alone: all the persistence thread needs of the database. */
@Global()
@Module({ providers: [DatabasePool], exports: [DatabasePool] })
export class DatabaseModule {}
