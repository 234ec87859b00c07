import { BullModule } from '@nestjs/bullmq';
import { DynamicModule, Module, Provider } from '@nestjs/common';
import { MembershipModule } from '../chatrooms/membership.module';
import { Queues } from '../common/constants';
import { ChatHistoryController } from './chat-history.controller';
import { ChatHistoryService } from './chat-history.service';
import { DeadLetterRepository } from './dead-letter.repository';
import { MessageBatchWriter } from './message-batch-writer';
import { MessagePersistProcessor } from './message-persist.processor';
import { MessageRepository } from './message.repository';
import { PendingMessageStore } from './pending-message.store';
import { PendingSweeperService } from './pending-sweeper.service';

@Module({})
export class ChatHistoryModule {
  /**
   * `worker`: consume the persistence queue in this process. Off in a server that leaves
   * persistence to `npm run start:worker`; on (and alone) in that worker.
   */
  static register(opts: { worker: boolean; http: boolean }): DynamicModule {
    const workerProviders: Provider[] = opts.worker
      ? [MessagePersistProcessor, MessageBatchWriter, PendingSweeperService]
      : [];
    return {
      module: ChatHistoryModule,
      imports: [MembershipModule, BullModule.registerQueue({ name: Queues.MessagePersist })],
      controllers: opts.http ? [ChatHistoryController] : [],
      providers: [ChatHistoryService, MessageRepository, PendingMessageStore, DeadLetterRepository, ...workerProviders],
      exports: [ChatHistoryService, MessageRepository, PendingMessageStore],
    };
  }
}
