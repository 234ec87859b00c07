import { DynamicModule, Module } from '@nestjs/common';
import { MembershipModule } from '../chatrooms/membership.module';
import { ChatHistoryController } from './chat-history.controller';
import { ChatHistoryService } from './chat-history.service';
import { MessageStoreModule } from './message-store.module';
import { MessageRepository } from './message.repository';
import { PersistWorkerModule } from './persist-worker.module';

@Module({})
export class ChatHistoryModule {
  /**
   * `worker`: consume the persistence queue in this process. Off in a server that leaves
   * persistence to `npm run start:worker`; on (and alone) in that worker.
   */
  static register(opts: { worker: boolean; http: boolean }): DynamicModule {
    return {
      module: ChatHistoryModule,
      imports: [MembershipModule, MessageStoreModule, ...(opts.worker ? [PersistWorkerModule] : [])],
      controllers: opts.http ? [ChatHistoryController] : [],
      providers: [ChatHistoryService, MessageRepository],
      exports: [ChatHistoryService, MessageRepository, MessageStoreModule],
    };
  }
}
