import { Module } from '@nestjs/common';
import { MembershipService } from './membership.service';

/** Separate from ChatroomsModule so chat history and the gateway can ask without a cycle. */
@Module({ providers: [MembershipService], exports: [MembershipService] })
export class MembershipModule {}
