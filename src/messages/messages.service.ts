import { IdentityService } from '../auth/identity.service';
import { ThrottleService } from '../auth/throttle.service';
import { Injectable } from '@nestjs/common';
import type { AuthUser } from '../auth/auth.types';
import type { Page } from '../chat-history/chat-history.service';
import { cutBySize } from '../chat-history/page-size';
import { MessageView, QueuedMessage, view, viewOfRow } from '../chat-history/message.types';
import { PendingMessageStore } from '../chat-history/pending-message.store';
import { AppError } from '../common/errors';
import { queuedWithin } from '../common/sized-rows';
import { isMediaUrl, longerThan, MEDIA_URL_RULE } from '../common/input-rules';
import { AppConfig } from '../config/app-config';
import { ReadStateService } from '../inbox/read-state.service';
import type { EditMessageDto } from './dto/message-body.dto';
import type { SentMessagesQueryDto } from './dto/message-query.dto';
import { MessageActions, retractedConflict } from './message-actions.service';
import { MessagesRepository, Receipt } from './messages.repository';

export type SentMessageView = MessageView & { readCount: number };

/**
 * A page cut from `limit + 1` rows, or from fewer when the read was cut by size (`cut`: more
 * follow); the cursor is the last id (ids are time-ordered). cutBySize still weighs the page
 * as JSON: the read counted stored bytes, and a control character is six bytes of JSON.
 */
export function idPage<T extends { id: string; content: string }>(rows: T[], limit: number, cut = false): Page<T> {
  const items = rows.slice(0, limit);
  const page: Page<T> = { items, hasMore: cut || rows.length > limit };
  if (page.hasMore && items.length) page.nextCursor = items[items.length - 1].id;
  return cutBySize(page, (last) => last.id);
}

/** What a sender does with their own messages (admins may do it to anyone's). */
@Injectable()
export class MessagesService {
  constructor(
    private readonly actions: MessageActions,
    private readonly repo: MessagesRepository,
    private readonly config: AppConfig,
    private readonly identity: IdentityService,
    private readonly pending: PendingMessageStore,
    private readonly readState: ReadStateService,
    private readonly throttle: ThrottleService,
  ) {}

  /**
   * My messages, stored or still queued (read your writes: one acked a moment ago is listed
   * at once, also while the worker lags or PostgreSQL is away). Scoped to the caller's own
   * messages by construction: nothing else to authorise. The buffers are read first, then
   * the table, as ChatHistoryService reads: a message stored in between is in one or the
   * other, never in neither. Queued messages of a room I have left since show once stored.
   */
  async sent(user: AuthUser, q: SentMessagesQueryDto): Promise<Page<SentMessageView>> {
    const { queued, rooms } = await this.queuedSent(user.id, q);
    const read = await this.repo.sentPage({ ...q, senderId: user.id, limit: q.limit + 1 });
    const stored = new Set(read.rows.map((r) => r.id));
    const page: (SentMessageView | QueuedMessage)[] = [
      ...read.rows.map((r) => ({ ...viewOfRow(r), readCount: r.readCount })),
      ...queuedWithin(queued, read).filter((m) => !stored.has(m.id)),
    ]
      .sort((a, b) => (a.id < b.id ? 1 : -1))
      .slice(0, q.limit + 1);
    const fresh = page.filter((m): m is QueuedMessage => !('readCount' in m));
    const counts = await this.repo.readCounts(fresh);
    const views = page.map((m) => ('readCount' in m ? m : { ...view(m), readCount: counts.get(m.id) ?? 0 }));
    // Without a chatroomId the buffer of every room of the caller's was read: priced like the room lists.
    await this.throttle.chargeRoomList(user.id, rooms);
    return idPage(views, q.limit, read.cut);
  }

  /**
   * My queued messages past the cursor, in the room asked for or in all of mine, and how many
   * rooms' buffers were read for them.
   */
  private async queuedSent(
    userId: number,
    q: SentMessagesQueryDto,
  ): Promise<{ queued: QueuedMessage[]; rooms: number }> {
    const rooms =
      q.chatroomId !== undefined ? [q.chatroomId] : (await this.readState.positions(userId)).map((p) => p.chatroomId);
    const buffers = await this.pending.ofRooms(rooms);
    const queued = buffers.flat().filter((m) => m.senderId === userId && (q.cursor === undefined || m.id < q.cursor));
    return { queued, rooms: rooms.length };
  }

  /** One receipt per other member: charged as a member list (ThrottleService.chargeMemberList). */
  async receipts(user: AuthUser, id: string): Promise<Receipt[]> {
    const {
      messages: [message],
    } = await this.actions.authorize(user.id, [id]);
    const receipts = await this.repo.receipts(message);
    await this.throttle.chargeMemberList(user.id, receipts.length);
    return receipts;
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
    if (!longerThan(content, max)) return;
    throw AppError.validation(`Message content is longer than ${max} characters`, [
      { field: 'content', errors: [`must be at most ${max} characters`] },
    ]);
  }
}
