import { DynamicModule, Module } from '@nestjs/common';
import { ReadStateModule } from '../inbox/read-state.module';
import { ChatroomsController } from './chatrooms.controller';
import { ChatroomsService } from './chatrooms.service';
import { MembershipModule } from './membership.module';
import { RoomChanges } from './room-changes';
import { RoomRemovals } from './room-removals';
import { RoomSummaryService } from './room-summary.service';

@Module({})
export class ChatroomsModule {
  static register(history: DynamicModule): DynamicModule {
    return {
      module: ChatroomsModule,
      imports: [MembershipModule, history, ReadStateModule.register(history)],
      controllers: [ChatroomsController],
      providers: [ChatroomsService, RoomSummaryService, RoomChanges, RoomRemovals],
      exports: [ChatroomsService, RoomSummaryService],
    };
  }
}
