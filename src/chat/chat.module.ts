import { DynamicModule, Module } from '@nestjs/common';
import { MembershipModule } from '../chatrooms/membership.module';
import { ChatGateway } from './chat.gateway';
import { ChatService } from './chat.service';
import { PresenceService } from './presence.service';
import { SenderDirectory } from './sender-directory';

@Module({})
export class ChatModule {
  static register(history: DynamicModule, inbox: DynamicModule): DynamicModule {
    return {
      module: ChatModule,
      imports: [MembershipModule, history, inbox],
      providers: [ChatGateway, ChatService, PresenceService, SenderDirectory],
    };
  }
}
