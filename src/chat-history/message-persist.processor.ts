import { OnWorkerEvent, Processor, WorkerHost } from '@nestjs/bullmq';
import { BeforeApplicationShutdown, Logger } from '@nestjs/common';
import { Job } from 'bullmq';
import { Queues } from '../common/constants';
import { MetricsService } from '../metrics/metrics.service';
import { RedisService } from '../redis/redis.service';
import { MessageBatchWriter } from './message-batch-writer';
import { MessageRepository } from './message.repository';
import { classifyPersistError } from './persist-errors';
import { PendingMessageStore } from './pending-message.store';
import type { QueuedMessage } from './message.types';
import { cappedBackoff, PersistBatchJob } from './persist-job';

/**
 * A job whose worker died (killed, or cut off from Redis mid-batch) is taken up again once
 * its lock expires and a stalled check runs: within LOCK_MS + STALLED_CHECK_MS, not BullMQ's
 * default 30 s + 30 s. A live worker renews its lock every LOCK_MS / 2, also while its
 * INSERT waits; an event loop stuck longer than that lets a second worker store the same
 * batch, which is harmless (idempotent), so no stall count ever fails a job.
 */
export const LOCK_MS = 3_000;
const STALLED_CHECK_MS = 1_000;

/**
 * Stores queued messages in PostgreSQL, a whole job (many messages) per INSERT. Idempotent:
 * a retry after a crash mid-batch inserts only what is missing. Messages leave the pending
 * buffer only after their INSERT committed, so readers never see a gap. A message that
 * PostgreSQL refuses as data is set aside (MessageBatchWriter) and the rest stored.
 */
@Processor(Queues.MessagePersist, {
  // One job at a time: jobs already carry a batch, and two concurrent batches updating the same
  // rooms' rows could deadlock (seen once in the bench under load).
  concurrency: 1,
  lockDuration: LOCK_MS,
  stalledInterval: STALLED_CHECK_MS,
  maxStalledCount: Number.MAX_SAFE_INTEGER,
  // After a Redis error (completing a job, fetching the next), try again in 0.5 s, not 15 s.
  runRetryDelay: 500,
  settings: { backoffStrategy: cappedBackoff },
})
export class MessagePersistProcessor extends WorkerHost implements BeforeApplicationShutdown {
  private readonly logger = new Logger(MessagePersistProcessor.name);
  private lastErrorLog = 0;

  constructor(
    private readonly repo: MessageRepository,
    private readonly writer: MessageBatchWriter,
    private readonly pending: PendingMessageStore,
    private readonly redis: RedisService,
    private readonly metrics: MetricsService,
  ) {
    super();
  }

  /**
   * Graceful stop: the running batch finishes (a plain close). With Redis unreachable a
   * plain close would wait forever for the connection; force it then: the batch in hand is
   * retried later, which is harmless because storing is idempotent.
   */
  async beforeApplicationShutdown(): Promise<void> {
    // The app can be closed before @nestjs/bullmq created the worker (a boot that failed).
    let worker: WorkerHost['worker'];
    try {
      worker = this.worker;
    } catch {
      return;
    }
    await worker.close(this.redis.client.status !== 'ready');
  }

  /**
   * The job carries the message as it was when sent; an edit or retraction made while it
   * waited was recorded in Redis and is applied now, so the stored row never goes back to
   * the old content (one MGET per batch; UPDATEs only for the rare edited ones).
   */
  private async reapplyMutations(messages: QueuedMessage[]): Promise<void> {
    const patches = await this.pending.mutationsOf(messages);
    const edited = messages.filter((_, i) => patches[i]);
    for (const [i, m] of messages.entries()) {
      const patch = patches[i];
      if (!patch) continue;
      try {
        await this.repo.applyPatch(m.id, patch);
      } catch (err) {
        // An edit PostgreSQL refuses as data must not hold up the batch: the row keeps its
        // stored content.
        if (classifyPersistError(err) !== 'data') throw err;
        this.logger.error(`edit of message ${m.id} refused by PostgreSQL, not applied: ${(err as Error).message}`);
      }
    }
    await this.pending.forgetMutations(edited);
  }

  /** Connection trouble is retried by BullMQ; say so once every 10 s, not per attempt. */
  @OnWorkerEvent('error')
  onError(err: Error): void {
    if (Date.now() - this.lastErrorLog < 10_000) return;
    this.lastErrorLog = Date.now();
    this.logger.warn(`worker: ${err.message}`);
  }

  /**
   * One job, in the only order that keeps readers and edits right. Each step is idempotent,
   * so a retry after a crash anywhere in between redoes the steps safely:
   *  1. store the job's copies (as sent): one INSERT, refused rows set aside;
   *  2. re-apply edits recorded while they were queued (ChatHistoryService.mutate records
   *     before it updates the table, so each edit is in the record, in the row, or both);
   *  3. only then drop them from the pending buffers: until then readers prefer the
   *     buffer's copy, which every edit patched at once (mergeBySeq), so no reader ever
   *     sees a row that is behind.
   */
  async process(job: Job<PersistBatchJob>): Promise<number> {
    const { messages } = job.data;
    try {
      const startedAt = performance.now();
      const refused = await this.writer.store(messages);
      // Stored here means now in PostgreSQL: rows a retried job had already inserted count again.
      this.metrics.batchStored(
        messages.length,
        (performance.now() - startedAt) / 1000,
        messages.length - refused.length,
      );
      if (refused.length) this.metrics.deadLettered(refused.length);
      await this.reapplyMutations(messages);
      if (refused.length) await this.pending.tombstoned(refused.map((r) => r.message));
      await this.pending.removeStored(messages);
      return messages.length - refused.length;
    } catch (err) {
      this.logger.warn(
        `job ${job.id}: storing ${messages.length} messages failed (attempt ${job.attemptsMade + 1}): ${(err as Error).message}`,
      );
      throw err;
    }
  }
}
