import { Injectable, ParseUUIDPipe } from '@nestjs/common';
import { Broadcaster } from '../chat/broadcaster.service';
import { ChatHistoryService } from '../chat-history/chat-history.service';
import { MessageView } from '../chat-history/message.types';
import { ServerEvent, TimelineEvent } from '../common/constants';
import { AppError, ErrorCode } from '../common/errors';
import { ReadStateService } from '../inbox/read-state.service';
import { MessagesRepository } from './messages.repository';

/** Path ids are UUIDs: anything else is a VALIDATION_FAILED naming the parameter. */
export const MessageIdPipe = new ParseUUIDPipe({
  exceptionFactory: () => AppError.validation('Invalid fields: id', [{ field: 'id', errors: ['id must be a UUID'] }]),
});

export interface Authorized {
  messages: MessageView[];
  /** True when the caller needed (and has) admin rights for at least one of the messages. */
  asAdmin: boolean;
}

const notFound = (ids: string[]) =>
  new AppError(ErrorCode.NotFound, ids.length > 1 ? 'Messages not found' : 'Message not found', { ids });

/**
 * What sender and admin routes share: finding messages wherever they are (table or pending
 * buffer), deciding who may act on them, and the edit / tombstone mutations with their
 * room broadcasts.
 */
@Injectable()
export class MessageActions {
  constructor(
    private readonly history: ChatHistoryService,
    private readonly repo: MessagesRepository,
    private readonly broadcaster: Broadcaster,
    private readonly readState: ReadStateService,
  ) {}

  /** Messages by id, stored or still queued. */
  find(ids: string[]): Promise<Map<string, MessageView>> {
    return this.history.findMessages(ids);
  }

  /** Every id must exist (admins see every room), else NOT_FOUND and nothing is returned. */
  async findAll(ids: string[]): Promise<MessageView[]> {
    const found = await this.find(ids);
    const missing = [...new Set(ids)].filter((id) => !found.has(id));
    if (missing.length) throw notFound(missing);
    return [...found.values()];
  }

  /**
   * The caller may act on a message as its sender while a member of its room, or as an
   * admin. Otherwise a message in a room the caller is not in is NOT_FOUND, exactly like an
   * unknown id (rooms are not enumerable), and someone else's message is FORBIDDEN. All or
   * nothing: one refused id refuses the whole request.
   */
  async authorize(callerId: number, ids: string[]): Promise<Authorized> {
    const found = await this.find(ids);
    const messages = [...found.values()];
    const rooms = await this.repo.memberOf(callerId, [...new Set(messages.map((m) => m.chatroomId))]);
    const own = (m: MessageView) => rooms.has(m.chatroomId) && m.senderId === callerId;
    // The role is read only when it matters: the common case (own messages) costs no query.
    const asAdmin = !messages.every(own) && (await this.repo.isAdmin(callerId));
    const invisible = [...new Set(ids)].filter((id) => {
      const m = found.get(id);
      return !m || (!asAdmin && !rooms.has(m.chatroomId));
    });
    if (invisible.length) throw notFound(invisible);
    if (!asAdmin && !messages.every(own)) throw AppError.forbidden('Only the sender or an admin may do this');
    return { messages, asAdmin };
  }

  /** Works whether the message is stored or still queued (ChatHistoryService.mutate). */
  async edit(message: MessageView, content: string, editorId: number): Promise<MessageView> {
    const editedAt = new Date().toISOString();
    await this.history.mutate(message, { content, editedAt });
    const updated: MessageView = { ...message, content, editedAt };
    this.announce(TimelineEvent.EditMessage, editorId, updated);
    return updated;
  }

  /**
   * Tombstones: content gone, seq kept (history has no holes). A message that already is one
   * is left as it was (first deletedAt/deletedById kept, no second event), which makes
   * retracting twice harmless.
   */
  async retract(messages: MessageView[], actorId: number): Promise<void> {
    const deletedAt = new Date().toISOString();
    const live = messages.filter((m) => !m.deleted);
    const results = await Promise.allSettled(
      live.map(async (m) => {
        await this.history.mutate(m, { deletedAt, deletedById: actorId });
        this.announce(TimelineEvent.DeleteMessage, actorId, { ...m, content: '', deleted: true });
      }),
    );
    // After the writes, and even when some failed (the others landed): a tombstone no longer
    // counts as unread for anyone, so every touched room's cached counts are renewed.
    await Promise.all([...new Set(live.map((m) => m.chatroomId))].map((id) => this.readState.roomCountsChanged(id)));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }

  private announce(type: string, userId: number, message: MessageView): void {
    const { chatroomId } = message;
    this.broadcaster.toRoom(chatroomId, ServerEvent.Message, { type, chatroomId, userId, message });
  }
}
