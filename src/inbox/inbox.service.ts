import { Injectable } from '@nestjs/common';
import type { AuthUser } from '../auth/auth.types';
import { ChatHistoryService, Page } from '../chat-history/chat-history.service';
import { cutBySize } from '../chat-history/page-size';
import { MessagePreview, MessageView, QueuedMessage, view, viewOfRow } from '../chat-history/message.types';
import { ReadAnnouncer } from './read-announcer';
import { PendingMessageStore } from '../chat-history/pending-message.store';
import { Broadcaster } from '../chat/broadcaster.service';
import { MembershipService } from '../chatrooms/membership.service';
import { ServerEvent } from '../common/constants';
import { AppError } from '../common/errors';
import { queuedWithin } from '../common/sized-rows';
import { InboxMessagesQueryDto, MarkReadBodyDto } from './dto/inbox.dto';
import { InboxVersions } from './inbox-versions';
import { InboxRepository } from './inbox.repository';
import { MemberPosition, ReadStateService, RoomUnread } from './read-state.service';
import { ThrottleService } from '../auth/throttle.service';

export type InboxMessage = MessageView & { read: boolean };

/** A queued message from someone else in one of my rooms, with my read position there. */
type Buffered = { m: QueuedMessage; readSeq: number };

/**
 * Rooms a mark-read or hide touched (the answer covers them), those where something actually
 * changed (the reader's other devices hear of them), and the reader's positions in all rooms
 * after it.
 */
interface Marked {
  touched: number[];
  changed: number[];
  positions: MemberPosition[];
}
export interface ReadResult {
  totalUnread: number;
  rooms: { chatroomId: number; unreadCount: number; readSeq: number }[];
}

/** The receiver's side: what arrived (also while offline), what is unread, tidying up. */
@Injectable()
export class InboxService {
  /** `read` events to the room, at most one per member and room each READ_EVENT_MS. */
  private readonly reads: ReadAnnouncer;

  constructor(
    private readonly readState: ReadStateService,
    private readonly repo: InboxRepository,
    private readonly history: ChatHistoryService,
    private readonly pending: PendingMessageStore,
    private readonly membership: MembershipService,
    private readonly broadcaster: Broadcaster,
    private readonly throttle: ThrottleService,
    private readonly versions: InboxVersions,
  ) {
    this.reads = new ReadAnnouncer((chatroomId, userId, seq) =>
      this.broadcaster.toRoom(chatroomId, ServerEvent.Read, { chatroomId, userId, seq }),
    );
  }

  /** Unread per room and in total, newest activity first: a fixed number of statements. */
  async summary(user: AuthUser) {
    const rooms = await this.repo.roomsOf(user.id);
    const ids = rooms.map((r) => r.chatroomId);
    const [unread, stored] = await Promise.all([this.readState.unread(user.id, rooms), this.history.latest(ids, [])]);
    const ahead = unread.filter((u, i) => u.lastSeq > rooms[i].storedLastSeq).map((u) => u.chatroomId);
    const latest = ahead.length ? await this.history.latest(ahead) : new Map<number, MessagePreview>();
    const items = rooms.map((r, i) => {
      const lastMessage = latest.get(r.chatroomId) ?? stored.get(r.chatroomId);
      return {
        chatroomId: r.chatroomId,
        name: r.name,
        type: r.type,
        unreadCount: unread[i].unreadCount,
        readSeq: r.readSeq,
        lastSeq: unread[i].lastSeq,
        ...(lastMessage ? { lastMessage } : {}),
        activity: Date.parse(lastMessage?.createdAt ?? '') || r.createdAt.getTime(),
      };
    });
    items.sort((a, b) => b.activity - a.activity);
    await this.throttle.chargeRoomList(user.id, items.length);
    const totalUnread = items.reduce((n, r) => n + r.unreadCount, 0);
    return { totalUnread, rooms: items.map(({ activity: _, ...room }) => room) };
  }

  /** Newest first across my rooms; queued messages merged in (read your writes). */
  async messages(user: AuthUser, q: InboxMessagesQueryDto): Promise<Page<InboxMessage>> {
    if (q.chatroomId !== undefined) await this.membership.require(user.id, q.chatroomId);
    const filter = { chatroomId: q.chatroomId, unread: q.unread, before: q.cursor, limit: q.limit + 1 };
    // The buffers first, then the table, as ChatHistoryService reads: a message stored in
    // between is then in one or the other, never in neither.
    const positions = (await this.readState.positions(user.id)).filter(
      (p) => q.chatroomId === undefined || p.chatroomId === q.chatroomId,
    );
    const buffered = await this.bufferedFor(user, q, positions);
    const [read, queued] = await Promise.all([this.repo.page(user.id, filter), this.queuedOf(user, q, buffered)]);
    // The page reads each of my rooms (InboxRepository.page): priced like the room lists.
    await this.throttle.chargeRoomList(user.id, positions.length);
    const stored = new Set(read.rows.map((r) => r.id));
    const merged = [
      ...read.rows.map((r) => ({ ...viewOfRow(r), read: r.read })),
      ...queuedWithin(queued, read).filter((m) => !stored.has(m.id)),
    ]
      .sort((a, b) => (a.id < b.id ? 1 : -1))
      .slice(0, q.limit + 1);
    const hasMore = read.cut || merged.length > q.limit;
    const items = merged.slice(0, q.limit);
    const page = { items, hasMore, ...(hasMore ? { nextCursor: items[items.length - 1].id } : {}) };
    return cutBySize(page, (last) => last.id);
  }

  async message(user: AuthUser, id: string): Promise<InboxMessage> {
    const m = await this.history.findMessage(id);
    if (!m) throw AppError.notFound('Message');
    const member = await this.membership.get(user.id, m.chatroomId);
    if (!member) throw AppError.notFound('Message');
    const marks = await this.readState.marksOf(user.id, [m]);
    if (marks.hidden.has(`${m.chatroomId}:${m.seq}`)) throw AppError.notFound('Message');
    const read = m.senderId === user.id || m.seq <= member.readSeq || marks.read.has(`${m.chatroomId}:${m.seq}`);
    return { ...m, read };
  }

  async read(user: AuthUser, dto: MarkReadBodyDto): Promise<ReadResult> {
    if (dto.messageIds !== undefined && (dto.chatroomId !== undefined || dto.seq !== undefined)) {
      throw AppError.validation('Send either {chatroomId, seq} or {messageIds}', [
        { field: 'messageIds', errors: ['cannot be combined with chatroomId/seq'] },
      ]);
    }
    const marked = dto.messageIds
      ? await this.markIds(user, dto.messageIds)
      : await this.markPosition(user, dto.chatroomId!, dto.seq!);
    const result = await this.report(user, marked);
    // The report recounts every room of the reader's: priced like the room lists.
    await this.throttle.chargeRoomList(user.id, marked.positions.length);
    return result;
  }

  /**
   * The socket form (`markRead`): one room, by position. `rooms`, the number of rooms the
   * report recounted, is the gateway's to charge to the event budget (not part of the answer).
   */
  async markRead(user: AuthUser, chatroomId: number, seq: number) {
    const marked = await this.markPosition(user, chatroomId, seq);
    const result = await this.report(user, marked);
    const [room] = result.rooms;
    // Removed (or left) between the mark and the recount, which reads the rooms again: the
    // room is no longer the caller's, as the next event would say.
    if (!room) throw AppError.notFound('Chatroom');
    return {
      answer: { chatroomId, readSeq: room.readSeq, unreadCount: room.unreadCount, totalUnread: result.totalUnread },
      rooms: marked.positions.length,
    };
  }

  /** Hide for me only; hiding an unread message also takes it out of my unread count. */
  async hide(user: AuthUser, ids: string[]): Promise<{ hidden: string[] }> {
    const { found, positions } = await this.visible(user, ids);
    await this.readState.hide(user.id, found);
    const touched = found.map((m) => m.chatroomId);
    await this.report(user, { touched, changed: touched, positions });
    // As read: the report recounts every room of the caller's.
    await this.throttle.chargeRoomList(user.id, positions.length);
    return { hidden: found.map((m) => m.id) };
  }

  private async markPosition(user: AuthUser, chatroomId: number, seq: number): Promise<Marked> {
    const [live] = await this.pending.lastSeqs([chatroomId]);
    const moved = await this.readState.advance(user.id, chatroomId, seq, live);
    if (!moved) throw AppError.notFound('Chatroom');
    // Only a real move goes out: `read` fans out to the whole room, and a mark at or below the
    // position (seq 0, a repeat) would let one client flood every member within the general
    // event budget, which is far above typing's for the same fan-out.
    if (!moved.advanced) return { touched: [chatroomId], changed: [], positions: moved.positions };
    this.reads.announce(chatroomId, user.id, moved.readSeq);
    return { touched: [chatroomId], changed: [chatroomId], positions: moved.positions };
  }

  /** Reading out of order leaves positions as they are. */
  private async markIds(user: AuthUser, ids: string[]): Promise<Marked> {
    const { found, positions } = await this.visible(user, ids);
    const readSeqs = new Map(positions.map((p) => [p.chatroomId, p.readSeq]));
    const changed = await this.readState.markSeqs(
      user.id,
      found.map((m) => ({ ...m, readSeq: readSeqs.get(m.chatroomId) ?? 0 })),
    );
    return { touched: found.map((m) => m.chatroomId), changed, positions };
  }

  /** Messages by id that are in my rooms; any other id is a 404 and nothing changes. */
  private async visible(user: AuthUser, ids: string[]): Promise<{ found: MessageView[]; positions: MemberPosition[] }> {
    const [byId, positions] = await Promise.all([this.history.findMessages(ids), this.readState.positions(user.id)]);
    const mine = new Set(positions.map((p) => p.chatroomId));
    const unique = [...new Set(ids)];
    const missing = unique.filter((id) => !mine.has(byId.get(id)?.chatroomId ?? -1));
    if (missing.length) throw AppError.notFound(`Message ${missing.join(', ')}`);
    return { found: unique.map((id) => byId.get(id)!), positions }; // in the caller's order
  }

  /**
   * Fresh counts for the touched rooms plus the total; tells the reader's other devices of
   * changes. Those go out with a version (InboxVersions) taken before the positions are read
   * again: the ones the write returned may predate another device's mark on another instance.
   */
  private async report(user: AuthUser, { touched, changed, positions }: Marked): Promise<ReadResult> {
    const version = changed.length ? await this.versions.take(user.id) : undefined;
    const read = version === undefined ? positions : await this.readState.positions(user.id);
    const all: RoomUnread[] = await this.readState.unread(user.id, read);
    const totalUnread = all.reduce((n, r) => n + r.unreadCount, 0);
    const rooms = all.filter((r) => touched.includes(r.chatroomId));
    for (const r of rooms.filter((room) => changed.includes(room.chatroomId))) {
      this.broadcaster.toUser(user.id, ServerEvent.Inbox, {
        chatroomId: r.chatroomId,
        unreadCount: r.unreadCount,
        totalUnread,
        version,
      });
    }
    return {
      totalUnread,
      rooms: rooms.map((r) => ({ chatroomId: r.chatroomId, unreadCount: r.unreadCount, readSeq: r.readSeq })),
    };
  }

  /** Queued messages of my rooms that may belong on this page (usually none or a few). */
  private async bufferedFor(
    user: AuthUser,
    q: InboxMessagesQueryDto,
    positions: { chatroomId: number; readSeq: number }[],
  ): Promise<Buffered[]> {
    const buffers = await this.pending.ofRooms(positions.map((p) => p.chatroomId));
    return buffers
      .flatMap((b, i) => b.map((m) => ({ m, readSeq: positions[i].readSeq })))
      .filter(({ m }) => m.senderId !== user.id && !m.deletedAt && (!q.cursor || m.id < q.cursor));
  }

  /** Of those, the ones I have not hidden, with their read state. */
  private async queuedOf(user: AuthUser, q: InboxMessagesQueryDto, candidates: Buffered[]): Promise<InboxMessage[]> {
    const marks = await this.readState.marksOf(
      user.id,
      candidates.map(({ m }) => m),
    );
    return candidates
      .filter(({ m }) => !marks.hidden.has(`${m.chatroomId}:${m.seq}`))
      .map(({ m, readSeq }) => ({ ...view(m), read: m.seq <= readSeq || marks.read.has(`${m.chatroomId}:${m.seq}`) }))
      .filter((m) => !q.unread || !m.read);
  }
}
