import type { JobsOptions } from 'bullmq';
import type { QueuedMessage } from './message.types';

export interface PersistBatchJob {
  messages: QueuedMessage[];
}

/**
 * Retries outlast any database outage an operator would tolerate: attempts are effectively
 * unbounded, with a capped backoff (see BACKOFF_STRATEGY). Completed jobs are removed at
 * once (the rows are the record); failed ones are kept for inspection, and the pending
 * buffer sweeper re-queues their messages anyway.
 */
export const persistJobOptions: JobsOptions = {
  attempts: 1_000_000,
  backoff: { type: 'capped' },
  removeOnComplete: true,
  removeOnFail: 1000,
};

/**
 * 200 ms, 400 ms, ... capped at 2 s between attempts: a batch is stored within about 2 s of
 * the database coming back. Only outages retry (data errors are set aside), and an attempt
 * against a database that is away fails fast.
 */
export function cappedBackoff(attemptsMade: number): number {
  return Math.min(200 * 2 ** Math.max(0, attemptsMade - 1), 2_000);
}
