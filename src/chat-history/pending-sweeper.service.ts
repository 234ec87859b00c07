import { InjectQueue } from '@nestjs/bullmq';
import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { JobType, Queue } from 'bullmq';
import { Jobs, Queues } from '../common/constants';
import type { QueuedMessage } from './message.types';
import { persistJobOf, persistJobOptions, PersistBatchJob, runsOf } from './persist-job';
import { PendingMessageStore } from './pending-message.store';

const SWEEP_EVERY_MS = 2_000;
/** Older than this and in no live job: orphaned. Normally a message is stored within ms. */
export const STALE_AFTER_MS = 10_000;
/** Jobs that will still run: their messages are not orphans (a dead worker's active job comes back via the stalled check). */
const LIVE: JobType[] = ['waiting', 'active', 'delayed', 'prioritized', 'waiting-children'];
const JOB_MESSAGES = 200;

/**
 * Safety net for acked messages that no job will store: a server that died between the
 * pending buffer and the queue, background queue retries that gave up, a job that failed
 * for good or was lost. Whatever state other jobs are in (a backlog, retries, a delayed
 * job), it re-queues the messages pending for longer than STALE_AFTER_MS that no live job
 * holds, and forgets rooms whose buffer is empty and that nobody sends to. Job data is read only when stale entries
 * exist. Re-storing is harmless (idempotent inserts), so racing a job that just finished,
 * or a second worker's sweeper, costs a no-op insert.
 */
@Injectable()
export class PendingSweeperService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(PendingSweeperService.name);
  private timer: NodeJS.Timeout | undefined;
  private running = false;

  constructor(
    @InjectQueue(Queues.MessagePersist) private readonly queue: Queue<PersistBatchJob>,
    private readonly pending: PendingMessageStore,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => {
      if (this.running) return;
      this.running = true;
      this.sweep()
        .catch((err: Error) => this.logger.warn(`sweep failed: ${err.message}`))
        .finally(() => (this.running = false));
    }, SWEEP_EVERY_MS);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  async sweep(staleAfterMs = STALE_AFTER_MS): Promise<number> {
    // One round trip for every room's oldest entry (seq order is send order): under load
    // the buffers are full of fresh messages, and only rooms with a stale head are read.
    const rooms = await this.pending.pendingRooms();
    const heads = await this.pending.firstOf(rooms.map((r) => r.chatroomId));
    const cutoff = Date.now() - staleAfterMs;
    const stale: QueuedMessage[] = [];
    for (const [i, room] of rooms.entries()) {
      const head = heads[i];
      if (!head) await this.pending.forgetIfQuiet(room);
      else if (Date.parse(head.createdAt) < cutoff)
        stale.push(...(await this.pending.stale(room.chatroomId, staleAfterMs)));
    }
    if (!stale.length) return 0;
    const live = await this.livePlaces();
    const orphans = stale.filter((m) => !live.has(place(m.chatroomId, m.seq)));
    for (let i = 0; i < orphans.length; i += JOB_MESSAGES) {
      const messages = orphans.slice(i, i + JOB_MESSAGES);
      await this.pending.index(messages);
      await this.queue.add(Jobs.PersistBatch, persistJobOf(messages), persistJobOptions);
    }
    if (orphans.length) this.logger.warn(`re-queued ${orphans.length} messages pending for over ${staleAfterMs} ms`);
    return orphans.length;
  }

  /** The places (room and seq) of the messages that live jobs name. */
  private async livePlaces(): Promise<Set<string>> {
    const places = new Set<string>();
    const PAGE = 500;
    for (let start = 0; ; start += PAGE) {
      const jobs = await this.queue.getJobs(LIVE, start, start + PAGE - 1, true);
      for (const job of jobs) {
        if (!job?.data) continue;
        for (const [room, from, to] of runsOf(job.data)) for (let s = from; s <= to; s++) places.add(place(room, s));
      }
      if (jobs.length < PAGE) return places;
    }
  }
}

const place = (chatroomId: number, seq: number) => `${chatroomId}:${seq}`;
