import { IdentityService } from '../auth/identity.service';
import { Injectable, ParseUUIDPipe } from '@nestjs/common';
import { Broadcaster } from '../chat/broadcaster.service';
import { ChatHistoryService } from '../chat-history/chat-history.service';
import { MessageView } from '../chat-history/message.types';
import { PendingMessageStore } from '../chat-history/pending-message.store';
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
    private readonly pending: PendingMessageStore,
    private readonly identity: IdentityService,
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
    const asAdmin = !messages.every(own) && (await this.identity.isAdmin(callerId));
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
   *
   * All or nothing: callers have found and authorised every id before this runs, so a
   * refused id has changed nothing. Then, as ChatHistoryService.mutate does for one
   * message, a message still queued is tombstoned in its pending entry (the worker stores
   * that copy), and every stored row is tombstoned in ONE statement, so the table changes
   * for all of them or for none. Events go out only after both steps succeeded. If Redis or
   * PostgreSQL fails in between (an outage, not a refusal), the request fails with no
   * event sent and no stored row changed; queued messages may already show as tombstones,
   * and sending the same request again completes it.
   */
  async retract(messages: MessageView[], actorId: number): Promise<void> {
    const deletedAt = new Date().toISOString();
    const live = messages.filter((m) => !m.deleted);
    if (!live.length) return;
    const queued = await Promise.all(
      live.map((m) => this.pending.patchPending(m, { deletedAt, deletedById: actorId })),
    );
    const stored = live.filter((_, i) => !queued[i]);
    if (stored.length) {
      await this.repo.tombstone(
        stored.map((m) => m.id),
        deletedAt,
        actorId,
      );
    }
    // A tombstone no longer counts as unread for anyone: the touched rooms' cached counts are renewed.
    await Promise.all([...new Set(live.map((m) => m.chatroomId))].map((id) => this.readState.roomCountsChanged(id)));
    for (const m of live) this.announce(TimelineEvent.DeleteMessage, actorId, { ...m, content: '', deleted: true });
  }

  private announce(type: string, userId: number, message: MessageView): void {
    const { chatroomId } = message;
    this.broadcaster.toRoom(chatroomId, ServerEvent.Message, { type, chatroomId, userId, message });
  }
}
