import { IdentityService } from '../auth/identity.service';
import { Injectable } from '@nestjs/common';
import type { AuthUser } from '../auth/auth.types';
import type { Page } from '../chat-history/chat-history.service';
import { MessageView, viewOfRow } from '../chat-history/message.types';
import { AppError } from '../common/errors';
import { isMediaUrl, MEDIA_URL_RULE } from '../common/input-rules';
import { AppConfig } from '../config/app-config';
import type { EditMessageDto } from './dto/message-body.dto';
import type { SentMessagesQueryDto } from './dto/message-query.dto';
import { MessageActions, retractedConflict } from './message-actions.service';
import { MessagesRepository, Receipt } from './messages.repository';

export type SentMessageView = MessageView & { readCount: number };

/** A page cut from `limit + 1` rows; the cursor is the last id (ids are time-ordered). */
export function idPage<T extends { id: string }>(rows: T[], limit: number): Page<T> {
  const items = rows.slice(0, limit);
  const page: Page<T> = { items, hasMore: rows.length > limit };
  if (page.hasMore && items.length) page.nextCursor = items[items.length - 1].id;
  return page;
}

/** What a sender does with their own messages (admins may do it to anyone's). */
@Injectable()
export class MessagesService {
  constructor(
    private readonly actions: MessageActions,
    private readonly repo: MessagesRepository,
    private readonly config: AppConfig,
    private readonly identity: IdentityService,
  ) {}

  /**
   * Stored messages only: one sent a few ms ago may still be in the pending buffer and
   * appears once the worker stored it. A page is one statement, read counts included.
   */
  async sent(user: AuthUser, q: SentMessagesQueryDto): Promise<Page<SentMessageView>> {
    // Scoped to the caller's own messages by construction: nothing else to authorise.
    const rows = await this.repo.sentPage({ ...q, senderId: user.id, limit: q.limit + 1 });
    return idPage(
      rows.map((r) => ({ ...viewOfRow(r), readCount: r.readCount })),
      q.limit,
    );
  }

  async receipts(user: AuthUser, id: string): Promise<Receipt[]> {
    const {
      messages: [message],
    } = await this.actions.authorize(user.id, [id]);
    return this.repo.receipts(message);
  }

  async edit(user: AuthUser, id: string, dto: EditMessageDto): Promise<MessageView> {
    const {
      messages: [message],
      asAdmin,
    } = await this.actions.authorize(user.id, [id]);
    this.checkLength(dto.content);
    if (message.type !== 'text' && !isMediaUrl(dto.content)) {
      throw AppError.validation('Invalid fields: content', [
        { field: 'content', errors: [`content ${MEDIA_URL_RULE}`] },
      ]);
    }
    // The cheap answer for most; one retracted since this read is the write's to refuse (MessageActions.edit).
    if (message.deleted) throw retractedConflict();
    // A sender who is also an admin keeps the admin's "anytime": the role is read only then.
    if (!asAdmin && this.windowPassed(message) && !(await this.identity.isAdmin(user.id))) {
      throw AppError.forbidden(
        `The edit window has passed: messages can be edited for ${this.config.messageEditWindowS} s after sending`,
      );
    }
    return this.actions.edit(message, dto.content, user.id);
  }

  async retract(user: AuthUser, id: string): Promise<void> {
    const { messages } = await this.actions.authorize(user.id, [id]);
    await this.actions.retract(messages, user.id);
  }

  async retractMany(user: AuthUser, ids: string[]): Promise<{ deleted: string[] }> {
    const { messages } = await this.actions.authorize(user.id, ids);
    await this.actions.retract(messages, user.id);
    return { deleted: messages.map((m) => m.id) };
  }

  private windowPassed(m: MessageView): boolean {
    return Date.now() - Date.parse(m.createdAt) > this.config.messageEditWindowS * 1000;
  }

  private checkLength(content: string): void {
    const max = this.config.messageMaxLength;
    if (content.length <= max) return;
    throw AppError.validation(`Message content is longer than ${max} characters`, [
      { field: 'content', errors: [`must be at most ${max} characters`] },
    ]);
  }
}
