import { Injectable } from '@nestjs/common';
import type { AuthUser } from '../auth/auth.types';
import { ThrottleService } from '../auth/throttle.service';
import type { Page } from '../chat-history/chat-history.service';
import { ChatHistoryService } from '../chat-history/chat-history.service';
import { MessageView, viewOfRow } from '../chat-history/message.types';
import { AppError } from '../common/errors';
import type { Prisma } from '../generated/prisma/client';
import { AdminMessagesRepository, RoomSummary } from './admin-messages.repository';
import type { AdminMessagesQueryDto } from './dto/message-query.dto';
import { MessageActions } from './message-actions.service';
import { MessagesRepository, Receipt } from './messages.repository';
import { idPage } from './messages.service';

export const AuditAction = {
  Search: 'messages.search',
  View: 'messages.view',
  Delete: 'messages.delete',
} as const;

export type AdminMessageView = MessageView & { room: RoomSummary; receipts: Receipt[] };

/**
 * Moderation. Authorisation is the controller's AdminGuard (the role as stored in the
 * database); every action leaves one admin_audit row, written after it succeeded.
 */
@Injectable()
export class AdminMessagesService {
  constructor(
    private readonly actions: MessageActions,
    private readonly history: ChatHistoryService,
    private readonly repo: AdminMessagesRepository,
    private readonly messages: MessagesRepository,
    private readonly throttle: ThrottleService,
  ) {}

  async search(admin: AuthUser, q: AdminMessagesQueryDto): Promise<Page<MessageView>> {
    const { rows, cut } = await this.repo.search({ ...q, limit: q.limit + 1 });
    const page = idPage(rows.map(viewOfRow), q.limit, cut);
    const filters = JSON.parse(JSON.stringify(q)) as Prisma.InputJsonObject;
    await this.repo.audit(
      admin.id,
      AuditAction.Search,
      page.items.map((m) => m.id),
      filters,
    );
    return page;
  }

  async view(admin: AuthUser, id: string): Promise<AdminMessageView> {
    const message = await this.history.findMessage(id);
    if (!message) throw AppError.notFound('Message');
    const [room, receipts] = await Promise.all([this.repo.room(message.chatroomId), this.messages.receipts(message)]);
    if (!room) throw AppError.notFound('Message'); // the room was deleted meanwhile
    await this.repo.audit(admin.id, AuditAction.View, [id], { chatroomId: message.chatroomId });
    // A receipt per member, as GET /messages/:id/receipts lists them: priced as that list.
    await this.throttle.chargeMemberList(admin.id, receipts.length);
    return { ...message, room, receipts };
  }

  /** All ids must exist, else NOT_FOUND and nothing changes. Event userId: the admin. */
  async retract(admin: AuthUser, ids: string[]): Promise<{ deleted: string[] }> {
    const messages = await this.actions.findAll(ids);
    const tombstoned = await this.actions.retract(messages, admin.id);
    const deleted = messages.map((m) => m.id);
    // Also those retracted by someone else between the read and the write.
    const alreadyDeleted = deleted.filter((id) => !tombstoned.has(id));
    const rooms = [...new Set(messages.map((m) => m.chatroomId))];
    await this.repo.audit(admin.id, AuditAction.Delete, deleted, { chatroomIds: rooms, alreadyDeleted });
    return { deleted };
  }
}
