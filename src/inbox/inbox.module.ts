import { DynamicModule, Module } from '@nestjs/common';
import { MembershipModule } from '../chatrooms/membership.module';
import { InboxController } from './inbox.controller';
import { InboxRepository } from './inbox.repository';
import { InboxNotifier } from './inbox-notifier.service';
import { InboxService } from './inbox.service';
import { InboxVersions } from './inbox-versions';
import { ReadStateModule } from './read-state.module';

@Module({})
export class InboxModule {
  static register(history: DynamicModule): DynamicModule {
    return {
      module: InboxModule,
      imports: [history, MembershipModule, ReadStateModule.register(history)],
      controllers: [InboxController],
      providers: [InboxService, InboxRepository, InboxNotifier, InboxVersions],
      exports: [InboxService, InboxNotifier],
    };
  }
}
