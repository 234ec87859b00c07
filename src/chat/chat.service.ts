import { BeforeApplicationShutdown, Injectable } from '@nestjs/common';
import type DataLoader from 'dataloader';
import type { AuthUser } from '../auth/auth.types';
import { ChatHistoryService } from '../chat-history/chat-history.service';
import { MessageRepository } from '../chat-history/message.repository';
import { MessageView, QueuedMessage, view } from '../chat-history/message.types';
import { FirstMessage, PendingMessageStore } from '../chat-history/pending-message.store';
import { uuidv7 } from '../chat-history/uuidv7';
import { fittingCounts, messageChars } from '../chat-history/page-size';
import { MembershipService } from '../chatrooms/membership.service';
import { AppConfig } from '../config/app-config';
import { ServerEvent, TimelineEvent } from '../common/constants';
import { InTurn } from '../common/in-turn';
import { turnLoader } from '../common/turn-loader';
import { AppError, ErrorCode } from '../common/errors';
import { longerThan } from '../common/input-rules';
import { InboxNotifier } from '../inbox/inbox-notifier.service';
import { MetricsService } from '../metrics/metrics.service';
import { Broadcaster } from './broadcaster.service';
import { SendMessageDto, SYNC_MAX_LIMIT, SyncDto } from './dto/chat-events.dto';
import { TokenBucketLimiter } from './rate-limiter';
import { SenderDirectory } from './sender-directory';

/** How a join puts the socket in the room's broadcast, and takes it back out if the join fails. */
export interface JoiningSocket {
  enter(): Promise<void>;
  /** `notMember`: the user is no longer in the room, so the socket leaves even if it was in before. */
  undo(notMember: boolean): Promise<void>;
}

export interface SyncRoomResult {
  chatroomId: number;
  messages: MessageView[];
  hasMore: boolean;
  lastSeq: number;
}

/** The send path and room reads behind the gateway's events. */
@Injectable()
export class ChatService implements BeforeApplicationShutdown {
  private readonly sendLimiter: TokenBucketLimiter;
  /** Per user: characters of sync answers (syncCost), SYNC_CHARS_PER_SEC up to SYNC_CHARS_BURST. */
  private readonly syncLimiter: TokenBucketLimiter;
  /**
   * Per user, seq assignments one after another, in the order the sends arrived. On their
   * own, pipelined sends raced through the membership and sender lookups (a database read
   * when not cached) and could take seqs out of order (1, 3, 2). Only this prelude, the
   * Redis script and the broadcast are ordered.
   */
  private readonly sendOrder = new InTurn<number>();
  private closing = false;
  /**
   * Live seqs asked in one turn (every join and sync of a reconnect storm asks one): one
   * MGET of the distinct rooms, instead of one per caller.
   */
  private readonly liveSeqs: DataLoader<number, number | null>;
  /** Rooms whose counter is being seeded: joins arriving meanwhile wait for that one seed. */
  private readonly seeding = new Map<number, Promise<number>>();

  constructor(
    private readonly config: AppConfig,
    private readonly membership: MembershipService,
    private readonly pending: PendingMessageStore,
    private readonly history: ChatHistoryService,
    private readonly repo: MessageRepository,
    private readonly senders: SenderDirectory,
    private readonly broadcaster: Broadcaster,
    private readonly inboxNotifier: InboxNotifier,
    private readonly metrics: MetricsService,
  ) {
    this.sendLimiter = new TokenBucketLimiter(config.sendRatePerSec, config.sendBurst, Date.now, () =>
      metrics.rateLimited('socket_send'),
    );
    this.syncLimiter = new TokenBucketLimiter(SYNC_CHARS_PER_SEC, SYNC_CHARS_BURST, Date.now, () =>
      metrics.rateLimited('socket_sync'),
    );
    this.liveSeqs = turnLoader(async (ids) => {
      const rooms = [...new Set(ids)];
      const seqs = await this.pending.lastSeqs(rooms);
      const byRoom = new Map(rooms.map((id, i) => [id, seqs[i]]));
      return ids.map((id) => byRoom.get(id) ?? null);
    });
  }

  /**
   * Assigns id and seq (one Redis script, written with this turn's others: dedupe, seq, pending
   * buffer, id index), broadcasts the message, hands it to the persistence queue and returns
   * (the ack). Membership and sender are cached. Acked means durable from the append on:
   * the message sits in the pending buffer of a room the sweeper visits, so it is stored
   * even if this process dies before its queue batch goes out; the queue only makes that
   * happen within milliseconds instead of the sweeper's seconds.
   */
  async send(user: AuthUser, dto: SendMessageDto): Promise<MessageView> {
    const startedAt = performance.now();
    if (this.closing) throw new AppError('UNAVAILABLE', 'The server is shutting down: send again');
    assertSelf(user, dto.sendUserId, 'sendUserId');
    this.sendLimiter.take(user.id);
    if (longerThan(dto.message.content, this.config.messageMaxLength)) {
      throw AppError.validation(`Message content is longer than ${this.config.messageMaxLength} characters`, [
        { field: 'message.content', errors: [`must be at most ${this.config.messageMaxLength} characters`] },
      ]);
    }
    const out = await this.sendOrder.run(user.id, async (): Promise<MessageView | { resendOf: FirstMessage }> => {
      await this.membership.requireCached(user.id, dto.chatroomId);
      const appended = await this.append({
        id: uuidv7(),
        chatroomId: dto.chatroomId,
        senderId: user.id,
        sender: await this.senders.get(user.id),
        type: dto.message.type,
        content: dto.message.content,
        clientMsgId: dto.clientMsgId,
        createdAt: new Date().toISOString(),
      });
      // A resend: the first message was broadcast and queued (or stored) when it was first
      // appended, so there is nothing to do again; it is looked up after this user's order.
      if ('first' in appended) return { resendOf: appended.first };
      const shown = view(appended.message);
      this.publish(appended.message, shown);
      return shown;
    });
    const shown = 'resendOf' in out ? await this.resent(dto.chatroomId, out.resendOf) : out;
    this.metrics.messageAcked(startedAt);
    return shown;
  }

  /**
   * The message a resend stands for: the first ack's id and seq, with the message as it is
   * now (an edit or a retraction since shows). The dedupe record holds only its place.
   */
  private async resent(chatroomId: number, first: FirstMessage): Promise<MessageView> {
    const found = await this.history.atSeq(chatroomId, first.seq);
    if (found?.id !== first.id) {
      throw new AppError('UNAVAILABLE', 'The first message of this clientMsgId cannot be read right now: send again');
    }
    return found;
  }

  /**
   * Broadcast, queue for storage, inbox and metrics of a new message. Called in the append
   * reply's own continuation, the same number of steps after it for every send: replies of
   * one connection resolve in seq order in one tick, so broadcasts leave in seq order. After
   * the send's turn (sendOrder) returned it was not: a user's later send resolves its chain a few microtasks
   * later than another user's first, and in a shared reply took its seq's place behind it.
   */
  private publish(message: QueuedMessage, shown: MessageView): void {
    const { chatroomId } = message;
    this.broadcaster.toRoom(chatroomId, ServerEvent.Message, {
      type: TimelineEvent.SendMessage,
      chatroomId,
      userId: message.senderId,
      message: shown,
    });
    this.history.queue(message);
    this.inboxNotifier.touched(chatroomId);
    this.metrics.messageSent(chatroomId);
  }

  /**
   * Shutdown: new sends are refused (the client resends, to another instance), sends in
   * flight finish their append and ack, and their queue batches go out before the queue
   * closes, so they are stored at once rather than by another instance's sweeper. Hooks run
   * in no set order across modules: ChatHistoryService drains too, and draining is idempotent.
   */
  async beforeApplicationShutdown(): Promise<void> {
    this.closing = true;
    await this.sendOrder.idle();
    await this.history.drain();
  }

  /** A new message with its seq, or where the first message of a resend is. */
  private async append(
    draft: Omit<QueuedMessage, 'seq'>,
  ): Promise<{ message: QueuedMessage } | { first: FirstMessage }> {
    let result = await this.pending.append(draft);
    if (result.status === 'unseeded') {
      // First message since Redis lost (or never had) the counter: continue after the stored maximum.
      await this.pending.seedSeq(draft.chatroomId, await this.repo.highestSeq(draft.chatroomId));
      result = await this.pending.append(draft);
    }
    if (result.status === 'removed') {
      // Removed from the room, and this instance's cached "member" answer has not heard yet
      // (the removal's relay is on its way, or lost): refused exactly as a non-member is by
      // requireCached, and the answer dropped so the user's next event asks PostgreSQL.
      this.membership.evict(draft.senderId, draft.chatroomId);
      throw AppError.notFound('Chatroom');
    }
    if (result.status === 'unseeded') throw new AppError('UNAVAILABLE', 'Could not assign a sequence number');
    return result.status === 'duplicate' ? { first: result.first } : { message: result.message };
  }

  /**
   * A member's join: `enter` puts the socket in the room's broadcast, and the live seq is read
   * only after it has, so every seq past the answer's `lastSeq` reaches the socket live
   * (what is at or before it, the client has or syncs). Read before entering, a message sent
   * in between was neither in `lastSeq` nor delivered.
   *
   * A join that fails after entering (Redis away while the live seq is read) calls `undo`
   * before it throws: the client was told the join failed, so it must not go on getting the
   * room's messages live with no `lastSeq` to sync from.
   *
   * A removal that lands while the membership is read takes the user's sockets out of the
   * room before this one has entered it: the socket would then enter on the answer read
   * before the removal and stay in the room's broadcast for good. So when any membership
   * changed meanwhile, it is read again once the socket is in (a removal from then on takes
   * it out), and a join that no longer holds is undone and refused.
   */
  async join(user: AuthUser, chatroomId: number, claimedUserId: number | undefined, socket: JoiningSocket) {
    assertSelf(user, claimedUserId, 'userId');
    const mark = this.membership.mark();
    const m = await this.membership.require(user.id, chatroomId);
    await socket.enter();
    try {
      if (this.membership.evictedSince(mark)) await this.membership.require(user.id, chatroomId);
      return { chatroomId, lastSeq: await this.liveSeq(chatroomId), readSeq: m.readSeq };
    } catch (e) {
      await socket.undo(e instanceof AppError && e.code === ErrorCode.NotFound);
      throw e;
    }
  }

  /**
   * The room's live last seq. A room without a counter in Redis (no message since Redis
   * started, or a quiet room) gets one seeded from the stored maximum, as its first send
   * would: the next join and every sync then answer from Redis, where otherwise every join
   * of a quiet room cost a query (a restart's reconnect storm: one per socket).
   */
  private async liveSeq(chatroomId: number): Promise<number> {
    const live = await this.liveSeqs.load(chatroomId);
    if (live !== null) return live;
    // The first joins of a quiet room all miss at once (a fleet joining): one query and one
    // seed for all of them. The seed is SET NX, so any caller would get the same answer.
    let seed = this.seeding.get(chatroomId);
    if (!seed) {
      seed = this.repo
        .highestSeq(chatroomId)
        .then((highest) => this.pending.seedSeq(chatroomId, highest))
        .finally(() => this.seeding.delete(chatroomId));
      this.seeding.set(chatroomId, seed);
    }
    return seed;
  }

  forgetMembership(userId: number | undefined, chatroomId: number): void {
    this.membership.evict(userId, chatroomId);
  }

  async assertMember(user: AuthUser, chatroomId: number, claimedUserId?: number): Promise<void> {
    assertSelf(user, claimedUserId, 'userId');
    await this.membership.requireCached(user.id, chatroomId);
  }

  /**
   * Everything after each room's `afterSeq`, tombstones included, plus the live last seq.
   * Membership comes from the socket path's cache (the join just filled it), and from
   * PostgreSQL for the rooms that have messages to send. A room whose live seq is not past
   * `afterSeq` has nothing to send: no history read and no query, which is the usual case
   * after a reconnect (join, then sync from the seq the join returned), so a storm of
   * reconnects costs no query per socket here.
   *
   * One answer holds at most SYNC_MAX_LIMIT messages, all rooms together: 100 rooms of 500
   * messages of 4,000 characters each would be about 200 MB built for one small event. The
   * rooms that have more share that budget (syncBudgets); each gets a part of it, and
   * `hasMore` asks the client to come back from its last seq, as a full page does. The answer
   * is then cut by size as REST pages are (PAGE_MAX_CHARS, the rooms taking turns), so that
   * long messages full of escapes make no 12 MB answer, as 500 of them did.
   */
  async sync(user: AuthUser, dto: SyncDto): Promise<{ rooms: SyncRoomResult[] }> {
    this.syncLimiter.check(user.id, 'Too much synced in a short time; wait and sync again');
    const limit = dto.limit ?? SYNC_MAX_LIMIT;
    await this.requireAllRooms(dto, (chatroomId) => this.membership.requireCached(user.id, chatroomId));
    // Seeded where Redis has no counter, as a join does: a room's lastSeq is never 0 for want of one.
    const live = await Promise.all(dto.rooms.map((r) => this.liveSeq(r.chatroomId)));
    // The rooms with something to read are asked of PostgreSQL too (one statement): an
    // instance whose cache has not heard of a removal yet (its relay on the way, or lost)
    // must not hand the removed user what was said after it.
    await this.requireAllRooms(dto, (chatroomId, i) =>
      live[i] > dto.rooms[i].afterSeq ? this.membership.require(user.id, chatroomId) : Promise.resolve(),
    );
    // Seqs have no gaps: the live seq says how many messages each room has to send.
    const behind = dto.rooms.map(({ afterSeq }, i) => Math.min(limit, Math.max(0, live[i] - afterSeq)));
    const budgets = syncBudgets(behind, SYNC_MAX_LIMIT);
    const pages = await Promise.all(
      dto.rooms.map(async ({ chatroomId, afterSeq }, i) =>
        live[i] > afterSeq ? this.history.after(chatroomId, afterSeq, budgets[i]) : { items: [], hasMore: false },
      ),
    );
    const fits = fittingCounts(pages.map((p) => p.items));
    const rooms = dto.rooms.map(({ chatroomId }, i): SyncRoomResult => {
      const { items, hasMore } = pages[i];
      const lastSeq = Math.max(live[i], items.at(-1)?.seq ?? 0);
      if (fits[i] === items.length) return { chatroomId, messages: items, hasMore, lastSeq };
      return { chatroomId, messages: items.slice(0, fits[i]), hasMore: true, lastSeq };
    });
    this.syncLimiter.spend(user.id, syncCost(rooms, live.filter((seq, i) => seq > dto.rooms[i].afterSeq).length));
    return { rooms };
  }

  /**
   * Every room of a sync must be the caller's; the refusal names each one that is not
   * (`details`: `rooms[i].chatroomId`), so that a client removed from a room while away can
   * drop it and sync the rest, instead of guessing which one of its rooms failed the call.
   */
  private async requireAllRooms(
    dto: SyncDto,
    check: (chatroomId: number, i: number) => Promise<unknown>,
  ): Promise<void> {
    const checks = await Promise.allSettled(dto.rooms.map(({ chatroomId }, i) => check(chatroomId, i)));
    const notFound: { field: string; errors: string[] }[] = [];
    for (const [i, c] of checks.entries()) {
      if (c.status === 'fulfilled') continue;
      if (!(c.reason instanceof AppError && c.reason.code === ErrorCode.NotFound)) throw c.reason;
      notFound.push({ field: `rooms[${i}].chatroomId`, errors: ['no such room among yours'] });
    }
    if (notFound.length) {
      const which = notFound.length === 1 ? 'A room' : `${notFound.length} rooms`;
      throw new AppError(ErrorCode.NotFound, `${which} of this sync not found`, notFound);
    }
  }
}

/**
 * What syncing costs a user, in characters of JSON: each message as a page weighs it
 * (messageChars: its content with JSON's escapes, plus a fixed share for the rest). A
 * second's budget is eight full answers (PAGE_MAX_CHARS), a burst forty: far above what a
 * reconnecting client syncs (usually nothing, as it asks from the seq its join returned),
 * and it keeps one user looping on syncs of large messages, from any number of sockets,
 * from taking the event loop from everyone else (a probe slowed other users' acks to
 * hundreds of ms that way).
 */
const SYNC_CHARS_PER_SEC = 2_000_000;
const SYNC_CHARS_BURST = 10_000_000;
/**
 * Each room whose history a sync read costs as much as a hundred messages more: a read costs
 * the server a query and a buffer read whatever it finds, and a probe syncing 100 rooms of
 * one short message each (28 ms of server time per sync) was charged next to nothing. A
 * room with nothing new is not read and costs nothing.
 */
const SYNC_CHARS_PER_ROOM_READ = 20_000;

function syncCost(rooms: SyncRoomResult[], roomsRead: number): number {
  let chars = roomsRead * SYNC_CHARS_PER_ROOM_READ;
  for (const r of rooms) for (const m of r.messages) chars += messageChars(m);
  return chars;
}

/**
 * Shares `total` among rooms that want `wants[i]` messages each: everyone gets what they want
 * if it fits, else an equal share, the share of rooms wanting less passing to the others.
 * Each room that wants any gets at least one (callers ask for at most `total` rooms), so a
 * client following `hasMore` always progresses in every room.
 */
export function syncBudgets(wants: number[], total: number): number[] {
  const budgets = wants.map(() => 0);
  let left = total;
  let open = wants.map((w, i) => i).filter((i) => wants[i] > 0);
  while (open.length && left > 0) {
    const share = Math.max(1, Math.floor(left / open.length));
    const still: number[] = [];
    for (const i of open) {
      const give = Math.min(wants[i] - budgets[i], share, left);
      budgets[i] += give;
      left -= give;
      if (budgets[i] < wants[i]) still.push(i);
    }
    open = still;
  }
  return budgets;
}

/** Old clients send their own id along; it must be the caller's, never someone else's. */
function assertSelf(user: AuthUser, claimed: number | undefined, field: string): void {
  if (claimed != null && claimed !== user.id) {
    throw AppError.forbidden(`${field} is not yours: the sender is always the authenticated user`);
  }
}
