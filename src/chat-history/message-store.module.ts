import { BullModule } from '@nestjs/bullmq';
import { Module } from '@nestjs/common';
import { Queues } from '../common/constants';
import { DeadLetterRepository } from './dead-letter.repository';
import { MessageWriteRepository } from './message-write.repository';
import { PendingMessageStore } from './pending-message.store';

/**
 * Where messages live: the table, the pending buffer in Redis and the persistence queue.
 * Shared by the server's history (ChatHistoryModule) and the persistence worker
 * (PersistWorkerModule), which the persistence thread loads without the rest of the app.
 */
@Module({
  imports: [BullModule.registerQueue({ name: Queues.MessagePersist })],
  providers: [MessageWriteRepository, PendingMessageStore, DeadLetterRepository],
  exports: [MessageWriteRepository, PendingMessageStore, DeadLetterRepository, BullModule],
})
export class MessageStoreModule {}
