import { BullModule } from '@nestjs/bullmq';
import { queuePrefix } from '../common/constants';
import { DatabaseIdentity } from '../redis/database-identity';
import { RedisService } from '../redis/redis.service';

/** BullMQ's shared connection and prefix, for the server and the persistence thread alike. */
export const QueueRootModule = BullModule.forRootAsync({
  // The prefix carries the database identity (read first), like every Redis name.
  inject: [DatabaseIdentity, RedisService],
  useFactory: (_identity: DatabaseIdentity, redis: RedisService) => ({
    connection: redis.queueConnection(),
    prefix: queuePrefix(),
  }),
});
