import { InjectQueue } from '@nestjs/bullmq';
import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { Queue } from 'bullmq';
import { Jobs, Queues } from '../common/constants';
import { persistJobOptions, PersistBatchJob } from './persist-job';
import { PendingMessageStore } from './pending-message.store';

const SWEEP_EVERY_MS = 5_000;
const STALE_AFTER_MS = 30_000;

/**
 * Safety net for the window between "in the pending buffer" and "in the queue": a server
 * that died right there, or a job that exhausted its attempts, leaves messages that are
 * readable but would never be stored. Runs with the worker; re-queues messages pending for
 * longer than STALE_AFTER_MS when the queue is idle, under a deterministic job id, and
 * forgets rooms whose buffer is empty. Re-storing is harmless (idempotent).
 */
@Injectable()
export class PendingSweeperService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(PendingSweeperService.name);
  private timer: NodeJS.Timeout | undefined;

  constructor(
    @InjectQueue(Queues.MessagePersist) private readonly queue: Queue<PersistBatchJob>,
    private readonly pending: PendingMessageStore,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => {
      this.sweep().catch((err: Error) => this.logger.warn(`sweep failed: ${err.message}`));
    }, SWEEP_EVERY_MS);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  async sweep(staleAfterMs = STALE_AFTER_MS): Promise<number> {
    // While jobs wait, are retried or run, stale entries are most likely in them: a backlog
    // (database outage) is not an orphan. Only an idle queue proves the entries were lost.
    const counts = await this.queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized');
    if (Object.values(counts).some((n) => n > 0)) return 0;
    let requeued = 0;
    for (const chatroomId of await this.pending.pendingRooms()) {
      const stale = await this.pending.stale(chatroomId, staleAfterMs);
      if (!stale.length) {
        await this.pending.forgetIfEmpty(chatroomId);
        continue;
      }
      const jobId = `sweep-${chatroomId}-${stale[0].seq}-${stale[stale.length - 1].seq}`;
      await this.queue.add(Jobs.PersistBatch, { messages: stale }, { ...persistJobOptions, jobId });
      requeued += stale.length;
    }
    if (requeued) this.logger.warn(`re-queued ${requeued} messages pending for over ${staleAfterMs} ms`);
    return requeued;
  }
}
