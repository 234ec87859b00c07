import { Global, Module } from '@nestjs/common';
import { databaseIdentityProvider, DatabaseIdentity } from './database-identity';
import { RedisService } from './redis.service';

@Global()
@Module({ providers: [RedisService, databaseIdentityProvider], exports: [RedisService, DatabaseIdentity] })
export class RedisModule {}
