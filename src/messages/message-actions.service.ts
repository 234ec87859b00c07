import { IdentityService } from '../auth/identity.service';
import { Injectable } from '@nestjs/common';
import { Broadcaster } from '../chat/broadcaster.service';
import { ChatHistoryService } from '../chat-history/chat-history.service';
import { MessageView } from '../chat-history/message.types';
import { PendingMessageStore } from '../chat-history/pending-message.store';
import { ServerEvent, TimelineEvent } from '../common/constants';
import { AppError, ErrorCode } from '../common/errors';
import { ReadStateService } from '../inbox/read-state.service';
import { MessagesRepository } from './messages.repository';

export interface Authorized {
  messages: MessageView[];
  /** True when the caller needed (and has) admin rights for at least one of the messages. */
  asAdmin: boolean;
}

const notFound = (ids: string[]) =>
  new AppError(ErrorCode.NotFound, ids.length > 1 ? 'Messages not found' : 'Message not found', { ids });

export const retractedConflict = () => new AppError(ErrorCode.Conflict, 'A retracted message cannot be edited');
const supersededConflict = () =>
  new AppError(ErrorCode.Conflict, 'A later edit of this message was saved first: read it again before editing');

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

  /**
   * Works whether the message is stored or still queued (ChatHistoryService.mutate). The
   * caller checked `message.deleted` on a copy read before; a retraction or moderation may
   * have landed since, so whether the edit applies is the write's answer: if it did not,
   * CONFLICT and no event (an edit announced after the deleteMessage would show the edited
   * text of a moderated message until a reload). Of concurrent edits the later (editedAt)
   * is the one kept, wherever they land first: an older one answers CONFLICT and sends no
   * event, and clients keep the later of two versions, so every member ends with the one
   * stored (README, `PATCH /messages/:id`).
   */
  async edit(message: MessageView, content: string, editorId: number): Promise<MessageView> {
    const editedAt = new Date().toISOString();
    const outcome = await this.history.mutate(message, { content, editedAt });
    if (outcome === 'retracted') throw retractedConflict();
    if (outcome === 'superseded') throw supersededConflict();
    if (outcome === 'missing') throw notFound([message.id]);
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
   *
   * Which messages this call tombstoned is the writes' answer (script reply, UPDATE ...
   * RETURNING), not the copies read before: a message retracted meanwhile by someone else
   * gets no second event. Returns the ids this call tombstoned.
   */
  async retract(messages: MessageView[], actorId: number): Promise<Set<string>> {
    const deletedAt = new Date().toISOString();
    const live = messages.filter((m) => !m.deleted);
    if (!live.length) return new Set();
    const queued = await Promise.all(
      live.map((m) => this.pending.patchPending(m, { deletedAt, deletedById: actorId })),
    );
    const stored = live.filter((_, i) => queued[i] === 'not-queued');
    const rows = stored.length
      ? await this.repo.tombstone(
          stored.map((m) => m.id),
          deletedAt,
          actorId,
        )
      : new Set<string>();
    const done = live.filter((m, i) => queued[i] === 'applied' || rows.has(m.id));
    if (!done.length) return new Set();
    // A tombstone no longer counts as unread for anyone: the touched rooms' cached counts are renewed.
    await Promise.all([...new Set(done.map((m) => m.chatroomId))].map((id) => this.readState.roomCountsChanged(id)));
    for (const m of done) this.announce(TimelineEvent.DeleteMessage, actorId, { ...m, content: '', deleted: true });
    return new Set(done.map((m) => m.id));
  }

  private announce(type: string, userId: number, message: MessageView): void {
    const { chatroomId } = message;
    this.broadcaster.toRoom(chatroomId, ServerEvent.Message, { type, chatroomId, userId, message });
  }
}
