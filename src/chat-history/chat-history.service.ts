import { InjectQueue } from '@nestjs/bullmq';
import { BeforeApplicationShutdown, Injectable, Logger } from '@nestjs/common';
import { Queue } from 'bullmq';
import { Jobs, Queues } from '../common/constants';
import { MembershipService } from '../chatrooms/membership.service';
import { AppConfig } from '../config/app-config';
import { DeadLetterRepository } from './dead-letter.repository';
import { cappedBackoff, MessagePlace, persistJobOf, persistJobOptions, PersistBatchJob } from './persist-job';
import { Batcher } from './persist-batcher';
import { MessageRepository } from './message.repository';
import { MessagePreview, MessageView, QueuedMessage, view, viewOfRow } from './message.types';
import { cutBySize, previewOf } from './page-size';
import { MessagePatch, PatchOutcome, PendingMessageStore } from './pending-message.store';

/**
 * A job's messages at most: a burst beyond this goes out at once rather than wait for the
 * interval. Large enough that at a busy server's rates jobs fill by time, not by count (a
 * job's bookkeeping is the same at 50 rows as at 500), small enough that one INSERT stays
 * short and a refused row is isolated in a few halvings (MessageBatchWriter).
 */
const MAX_JOB_MESSAGES = 500;

/** Background attempts to queue a batch whose add failed (capped backoff: about a minute). */
const ADD_RETRIES = 30;

/** Seqs are PostgreSQL integers. */
export const MAX_SEQ = 2_147_483_647;

export interface Page<T> {
  items: T[];
  hasMore: boolean;
  nextCursor?: string;
}

export type HistoryQuery = { before?: number; after?: number; limit: number };

/**
 * Message persistence and history. Writes never touch PostgreSQL on the socket path: new
 * messages go into the BullMQ queue (batched) and the persistence worker stores them.
 * Reads merge stored rows with the room's pending buffer, so an acknowledged message is
 * readable at once even while the worker lags or the database is down.
 *
 * Every read takes the buffer first, then the table. An entry leaves the buffer only after
 * its row is committed, so whatever the buffer read no longer holds, a table read that
 * starts after it does. Read at once, both could miss a message stored at that moment: the
 * table's snapshot taken just before the commit, the entry gone by the time Redis answered
 * (a hostile-client probe saw acked messages answer 404 by id that way, under load).
 */
@Injectable()
export class ChatHistoryService implements BeforeApplicationShutdown {
  private readonly logger = new Logger(ChatHistoryService.name);
  private readonly batcher: Batcher<MessagePlace>;
  private lastErrorLog = 0;
  private readonly retries = new Set<NodeJS.Timeout>();
  private stopping = false;

  constructor(
    @InjectQueue(Queues.MessagePersist) private readonly jobs: Queue<PersistBatchJob>,
    private readonly pending: PendingMessageStore,
    private readonly repo: MessageRepository,
    private readonly membership: MembershipService,
    private readonly deadLetters: DeadLetterRepository,
    config: AppConfig,
  ) {
    this.batcher = new Batcher((messages) => this.addJob(messages), MAX_JOB_MESSAGES, config.persistBatchMs);
    // Without a listener, connection errors are printed per retry; once every 10 s is enough.
    this.jobs.on('error', (err: Error) => {
      if (Date.now() - this.lastErrorLog < 10_000) return;
      this.lastErrorLog = Date.now();
      this.logger.warn(`queue: ${err.message}`);
    });
  }

  /** Messages set aside because PostgreSQL refused them as data (for /health). */
  deadLetterCount(): Promise<number> {
    return this.deadLetters.count();
  }

  /** Job counts of the persistence queue (for /health). */
  queueCounts(): Promise<Record<string, number>> {
    return this.jobs.getJobCounts('waiting', 'active', 'delayed', 'failed');
  }

  /**
   * Hands an appended message to the persistence queue, in the batch of the next
   * PERSIST_BATCH_MS. Nobody waits for it: the message is durable since its append (in the
   * pending buffer of a room the sweeper visits), so the queue only decides how soon it is
   * stored. A failed add is retried in the background.
   *
   * The batch keeps the message's place, not the message: held for up to PERSIST_BATCH_MS,
   * the whole message outlived the young generation's collections, so every message sent
   * was copied into the old generation and grew it until the next full collection.
   */
  queue(message: QueuedMessage): void {
    this.batcher.add({ chatroomId: message.chatroomId, seq: message.seq });
  }

  /** Never rejects: a batch whose add failed is retried in the background (retryAdd). */
  private async addJob(messages: MessagePlace[]): Promise<void> {
    try {
      await this.add(messages);
    } catch (err) {
      this.warnQueueing(messages.length, err as Error);
      this.retryAdd(messages, 1);
    }
  }

  private async add(messages: MessagePlace[]): Promise<void> {
    await this.jobs.add(Jobs.PersistBatch, persistJobOf(messages), persistJobOptions);
  }

  private warnQueueing(count: number, err: Error): void {
    if (Date.now() - this.lastErrorLog < 10_000) return;
    this.lastErrorLog = Date.now();
    this.logger.warn(`queueing ${count} messages failed (${err.message}); retrying in the background`);
  }

  private retryAdd(messages: MessagePlace[], attempt: number): void {
    if (this.stopping) return; // the sweeper picks them up from the pending buffer
    const timer = setTimeout(() => {
      this.retries.delete(timer);
      this.add(messages).catch((err: Error) => {
        if (attempt < ADD_RETRIES) return this.retryAdd(messages, attempt + 1);
        this.logger.warn(
          `queueing ${messages.length} messages failed ${attempt + 1} times (${err.message}); the sweeper will store them`,
        );
      });
    }, cappedBackoff(attempt));
    this.retries.add(timer);
  }

  /** Room history, by seq. No cursor or `before`: newest first. `after`: oldest first. */
  async history(userId: number, chatroomId: number, q: HistoryQuery): Promise<Page<MessageView>> {
    await this.membership.require(userId, chatroomId);
    const page =
      q.after !== undefined
        ? await this.after(chatroomId, q.after, q.limit)
        : await this.before(chatroomId, q.before ?? MAX_SEQ, q.limit);
    return cutBySize(page, (last) => String(last.seq));
  }

  async before(chatroomId: number, before: number, limit: number): Promise<Page<MessageView>> {
    const queued = await this.pending.range(chatroomId, 0, before - 1); // buffer first (see the class)
    const { rows, cut } = await this.repo.pageBefore(chatroomId, before, limit + 1);
    let merged = mergeBySeq(rows.map(viewOfRow), queued.map(view)).sort((a, b) => b.seq - a.seq);
    // Cut for size: the page ends at the last row read, whatever the buffer holds past it.
    if (cut) merged = merged.filter((m) => m.seq >= rows[rows.length - 1].seq);
    return toPage(merged, limit, (last) => String(last.seq), cut);
  }

  async after(chatroomId: number, after: number, limit: number): Promise<Page<MessageView>> {
    const queued = await this.pending.range(chatroomId, after + 1, Infinity); // buffer first (see the class)
    const { rows, cut } = await this.repo.pageAfter(chatroomId, after, limit + 1);
    let merged = mergeBySeq(rows.map(viewOfRow), queued.map(view)).sort((a, b) => a.seq - b.seq);
    if (cut) merged = merged.filter((m) => m.seq <= rows[rows.length - 1].seq); // as in before()
    return toPage(merged, limit, (last) => String(last.seq), cut);
  }

  /**
   * The newest message of each room, stored or pending, as the room lists show it (previewOf).
   * `withQueued`: the rooms that may have queued messages newer than the table (live seq
   * ahead of stored); default all.
   */
  async latest(chatroomIds: number[], withQueued = chatroomIds): Promise<Map<number, MessagePreview>> {
    const buffers = await this.pending.ofRooms(withQueued); // buffer first (see the class)
    const rows = await this.repo.latestOf(chatroomIds);
    const newest = new Map(rows.map((r) => [r.chatroomId, viewOfRow(r)] as const));
    for (const queued of buffers) {
      const top = queued.at(-1);
      if (top && (newest.get(top.chatroomId)?.seq ?? 0) <= top.seq) newest.set(top.chatroomId, view(top));
    }
    const out = new Map<number, MessagePreview>();
    for (const [room, m] of newest) out.set(room, previewOf(m));
    return out;
  }

  /** The message at a seq of a room, queued or stored; null if neither has it. */
  async atSeq(chatroomId: number, seq: number): Promise<MessageView | null> {
    const [queued] = await this.pending.range(chatroomId, seq, seq); // buffer first (see the class)
    if (queued) return view(queued);
    const [row] = (await this.repo.pageAfter(chatroomId, seq - 1, 1)).rows;
    return row?.seq === seq ? viewOfRow(row) : null;
  }

  /** A message by id, stored or still queued; null if unknown. No authorisation here. */
  async findMessage(id: string): Promise<MessageView | null> {
    return (await this.findMessages([id])).get(id) ?? null;
  }

  /**
   * Messages by id, still queued (the pending index) or stored (one statement). Unknown ids
   * are absent from the map. No authorisation here. A queued copy wins over the row (see
   * mergeBySeq).
   */
  async findMessages(ids: string[]): Promise<Map<string, MessageView>> {
    const unique = [...new Set(ids)];
    const queued = await this.pending.findByIds(unique); // buffer first (see the class)
    const rows = await this.repo.findByIds(unique);
    const found = new Map(rows.map((r) => [r.id, viewOfRow(r)] as const));
    for (const [id, m] of queued) found.set(id, view(m));
    return found;
  }

  /**
   * Edits or tombstones a message wherever it is: its pending entry while it is queued (the
   * worker stores that copy, see MessagePersistProcessor.process), else its row. An entry
   * leaves the buffer only after its row is stored, so when there is no entry there is a row
   * (`missing`: its room was deleted meanwhile). The outcome is the write's own: a caller's
   * copy of the message, read before, may be a retraction behind (`retracted`: nothing
   * changed).
   */
  async mutate(
    m: Pick<MessageView, 'id' | 'chatroomId' | 'seq'>,
    patch: MessagePatch,
  ): Promise<PatchOutcome | 'missing'> {
    const queued = await this.pending.patchPending(m, patch);
    return queued === 'not-queued' ? this.repo.applyPatch(m.id, patch) : queued;
  }

  /** Queues what waits for its batch now, and resolves once every add so far has settled. */
  drain(): Promise<void> {
    return this.batcher.drain();
  }

  /** After ChatService stopped taking sends: their batches go out before the queue closes. */
  async beforeApplicationShutdown(): Promise<void> {
    await this.drain();
    this.stopping = true;
    for (const timer of this.retries) clearTimeout(timer);
  }
}

/**
 * Stored rows and pending entries of the same seq: the pending one wins. While a message is
 * queued its entry is the newest copy (edits patch it, not the row), and the entry leaves
 * the buffer only once the row holds those very bytes (PendingMessageStore.removeStored).
 * So whatever the worker's step, a reader sees every edit made so far.
 */
function mergeBySeq(stored: MessageView[], queued: MessageView[]): MessageView[] {
  const seen = new Set(queued.map((m) => m.seq));
  return [...queued, ...stored.filter((m) => !seen.has(m.seq))];
}

/** The first `limit` of `sorted`; `more`: more follow even if none are in `sorted` (a cut read). */
function toPage<T>(sorted: T[], limit: number, cursorOf: (last: T) => string, more = false): Page<T> {
  const hasMore = more || sorted.length > limit;
  const items = sorted.slice(0, limit);
  const page: Page<T> = { items, hasMore };
  if (hasMore && items.length) page.nextCursor = cursorOf(items[items.length - 1]);
  return page;
}
