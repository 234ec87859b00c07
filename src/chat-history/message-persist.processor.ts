import { OnWorkerEvent, Processor, WorkerHost } from '@nestjs/bullmq';
import { BeforeApplicationShutdown, Logger } from '@nestjs/common';
import { Job } from 'bullmq';
import { Queues } from '../common/constants';
import { MetricsService } from '../metrics/metrics.service';
import { RedisService } from '../redis/redis.service';
import { MessageRepository } from './message.repository';
import { PendingMessageStore } from './pending-message.store';
import { cappedBackoff, PersistBatchJob } from './persist-job';

/**
 * Stores queued messages in PostgreSQL, a whole job (many messages) per INSERT. Idempotent:
 * a retry after a crash mid-batch inserts only what is missing. Messages leave the pending
 * buffer only after their INSERT committed, so readers never see a gap.
 */
@Processor(Queues.MessagePersist, {
  // One job at a time: jobs already carry a batch, and two concurrent batches updating the same
  // rooms' rows could deadlock (seen once in the bench under load).
  concurrency: 1,
  settings: { backoffStrategy: cappedBackoff },
})
export class MessagePersistProcessor extends WorkerHost implements BeforeApplicationShutdown {
  private readonly logger = new Logger(MessagePersistProcessor.name);
  private lastErrorLog = 0;

  constructor(
    private readonly repo: MessageRepository,
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
    await this.worker.close(this.redis.client.status !== 'ready');
  }

  /**
   * The job carries the message as it was when sent; an edit or retraction made while it
   * waited was recorded in Redis and is applied now, so the stored row never goes back to
   * the old content (one MGET per batch; UPDATEs only for the rare edited ones).
   */
  private async reapplyMutations(ids: string[]): Promise<void> {
    const patches = await this.pending.mutationsOf(ids);
    const edited = ids.filter((_, i) => patches[i]);
    for (const id of edited) await this.repo.applyPatch(id, patches[ids.indexOf(id)]!);
    await this.pending.forgetMutations(edited);
  }

  /** Connection trouble is retried by BullMQ; say so once every 10 s, not per attempt. */
  @OnWorkerEvent('error')
  onError(err: Error): void {
    if (Date.now() - this.lastErrorLog < 10_000) return;
    this.lastErrorLog = Date.now();
    this.logger.warn(`worker: ${err.message}`);
  }

  async process(job: Job<PersistBatchJob>): Promise<number> {
    const { messages } = job.data;
    try {
      const startedAt = performance.now();
      const inserted = await this.repo.insertBatch(messages);
      this.metrics.batchStored(messages.length, (performance.now() - startedAt) / 1000, inserted);
      await this.reapplyMutations(messages.map((m) => m.id));
      await this.pending.removeStored(messages);
      return inserted;
    } catch (err) {
      this.logger.warn(
        `job ${job.id}: storing ${messages.length} messages failed (attempt ${job.attemptsMade + 1}): ${(err as Error).message}`,
      );
      throw err;
    }
  }
}
