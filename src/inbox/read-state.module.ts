import { DynamicModule, Module } from '@nestjs/common';
import { ReadStateService } from './read-state.service';
import { UnreadCache } from './unread-cache';

/** Read state on its own, so chatrooms (room lists) and the inbox share it without a cycle. */
@Module({})
export class ReadStateModule {
  static register(history: DynamicModule): DynamicModule {
    return {
      module: ReadStateModule,
      imports: [history],
      providers: [ReadStateService, UnreadCache],
      exports: [ReadStateService],
    };
  }
}
