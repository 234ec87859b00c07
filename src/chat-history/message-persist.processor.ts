import { OnWorkerEvent, Processor, WorkerHost } from '@nestjs/bullmq';
import { BeforeApplicationShutdown, Logger } from '@nestjs/common';
import { Job } from 'bullmq';
import { Queues } from '../common/constants';
import { RedisService } from '../redis/redis.service';
import { MessageBatchWriter } from './message-batch-writer';
import { MessageWriteRepository } from './message-write.repository';
import { PersistMetrics } from './persist-metrics';
import { classifyPersistError } from './persist-errors';
import { PendingMessageStore } from './pending-message.store';
import type { QueuedMessage } from './message.types';
import { cappedBackoff, PersistBatchJob, runsOf } from './persist-job';

/**
 * A job whose worker died (killed, or cut off from Redis mid-batch) is taken up again once
 * its lock expires and a stalled check runs: within LOCK_MS + STALLED_CHECK_MS, not BullMQ's
 * default 30 s + 30 s. A live worker renews its lock every LOCK_MS / 2, also while its
 * INSERT waits; an event loop stuck longer than that lets a second worker store the same
 * batch, which is harmless (idempotent), so no stall count ever fails a job.
 */
export const LOCK_MS = 3_000;
const STALLED_CHECK_MS = 1_000;
/** Rounds of step 4 (process) before the job gives up and is retried. */
const MAX_REMOVE_ROUNDS = 20;

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
    private readonly repo: MessageWriteRepository,
    private readonly writer: MessageBatchWriter,
    private readonly pending: PendingMessageStore,
    private readonly redis: RedisService,
    private readonly metrics: PersistMetrics,
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

  /** Connection trouble is retried by BullMQ; say so once every 10 s, not per attempt. */
  @OnWorkerEvent('error')
  onError(err: Error): void {
    if (Date.now() - this.lastErrorLog < 10_000) return;
    this.lastErrorLog = Date.now();
    this.logger.warn(`worker: ${err.message}`);
  }

  /**
   * One job. Each step is idempotent, so a retry after a crash anywhere redoes them safely:
   *  1. read the job's messages from the pending buffer, as they are now: every edit or
   *     retraction made while they waited is already in these copies (patch-pending script);
   *  2. store them: one INSERT, refused rows set aside as dead letters;
   *  3. bring up to date the rows an earlier attempt stored before an edit (catchUp);
   *  4. drop from the buffer the copies whose bytes are still those stored. An entry edited
   *     since step 1 stays (readers keep seeing the newest copy); its row is brought up to
   *     date and it is dropped on the next round.
   * So an edit needs no record and no ordering with this job: it patches the entry if the
   * message is queued, or else the row, which then exists (ChatHistoryService.mutate).
   */
  async process(job: Job<PersistBatchJob>): Promise<number> {
    const runs = runsOf(job.data);
    try {
      let copies = await this.pending.read(runs);
      const messages = copies.map((c) => c.message);
      if (!messages.length) return 0; // stored and dropped already (a retry, or the sweeper's copy)
      const startedAt = performance.now();
      const refused = await this.writer.store(messages);
      // Stored here means now in PostgreSQL: rows a retried job had already inserted count again.
      this.metrics.batchStored(
        messages.length,
        (performance.now() - startedAt) / 1000,
        messages.length - refused.length,
      );
      if (refused.length) {
        this.metrics.deadLettered(refused.length);
        await this.pending.tombstoned(refused.map((r) => r.message));
      }
      await this.catchUp(messages.filter((m) => m.editedAt || m.deletedAt));
      for (let round = 1; copies.length; round++) {
        const changed = await this.pending.removeStored(copies);
        if (!changed.length) break;
        // Edits are rate-limited per user, so this ends; if it does not, the job is retried.
        if (round >= MAX_REMOVE_ROUNDS) throw new Error(`${changed.length} messages kept changing while being stored`);
        await this.catchUp(changed.map((c) => c.message));
        copies = changed;
      }
      return messages.length - refused.length;
    } catch (err) {
      this.logger.warn(
        `job ${job.id}: storing ${runs.length} runs of messages failed (attempt ${job.attemptsMade + 1}): ${(err as Error).message}`,
      );
      throw err;
    }
  }

  /**
   * Step 3 of process. Edits pass the same checks as sends, but one that PostgreSQL still
   * refuses as data must not hold up the batch: that row keeps its stored content.
   */
  private async catchUp(messages: QueuedMessage[]): Promise<void> {
    if (!messages.length) return;
    try {
      await this.repo.catchUp(messages);
    } catch (err) {
      if (classifyPersistError(err) !== 'data') throw err;
      for (const m of messages) {
        await this.repo.catchUp([m]).catch((e: unknown) => {
          if (classifyPersistError(e) !== 'data') throw e;
          this.logger.error(`edit of message ${m.id} refused by PostgreSQL, not applied: ${(e as Error).message}`);
        });
      }
    }
  }
}
