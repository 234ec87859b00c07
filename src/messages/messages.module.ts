import { DynamicModule, Module } from '@nestjs/common';
import { MembershipModule } from '../chatrooms/membership.module';
import { ReadStateModule } from '../inbox/read-state.module';
import { AdminMessagesController } from './admin-messages.controller';
import { AdminMessagesRepository } from './admin-messages.repository';
import { AdminMessagesService } from './admin-messages.service';
import { MessageActions } from './message-actions.service';
import { MessagesController } from './messages.controller';
import { MessagesRepository } from './messages.repository';
import { MessagesService } from './messages.service';

/** Sender and admin operations on messages. `history` is the app's ChatHistoryModule. */
@Module({})
export class MessagesModule {
  static register(history: DynamicModule): DynamicModule {
    return {
      module: MessagesModule,
      imports: [MembershipModule, history, ReadStateModule.register(history)],
      controllers: [MessagesController, AdminMessagesController],
      providers: [MessagesService, AdminMessagesService, MessageActions, MessagesRepository, AdminMessagesRepository],
    };
  }
}
