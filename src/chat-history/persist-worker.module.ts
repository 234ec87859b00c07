import { Module } from '@nestjs/common';
import { MessageBatchWriter } from './message-batch-writer';
import { MessagePersistProcessor } from './message-persist.processor';
import { MessageStoreModule } from './message-store.module';
import { PendingSweeperService } from './pending-sweeper.service';

/**
 * The persistence worker: consumes the queue into PostgreSQL and sweeps the pending buffer.
 * Its imports stay clear of HTTP, sockets and DTOs, so that the persistence thread
 * (persist-thread.main.ts) loads only this and the infrastructure it needs.
 */
@Module({
  imports: [MessageStoreModule],
  providers: [MessagePersistProcessor, MessageBatchWriter, PendingSweeperService],
})
export class PersistWorkerModule {}
