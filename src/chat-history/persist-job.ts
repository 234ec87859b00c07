import type { JobsOptions } from 'bullmq';
import type { QueuedMessage } from './message.types';

/** Where a message is: its room and seq, all a job needs of it. */
export type MessagePlace = Pick<QueuedMessage, 'chatroomId' | 'seq'>;

/** One room's consecutive seqs, both ends included: `[chatroomId, from, to]`. */
export type SeqRun = [chatroomId: number, from: number, to: number];

/**
 * A job names its messages by place, not by content: the worker stores what the pending
 * buffer holds when it runs, which already carries every edit made while the message
 * waited (MessagePersistProcessor). Jobs queued before this shape carried the messages;
 * only their places are used now (runsOf).
 */
export interface PersistBatchJob {
  runs?: SeqRun[];
  /** Queued by an earlier version: the messages as sent. */
  messages?: MessagePlace[];
}

export function persistJobOf(messages: MessagePlace[]): PersistBatchJob {
  return { runs: seqRunsByRoom(messages) };
}

/** The places a job names, whichever version queued it. */
export function runsOf(job: PersistBatchJob): SeqRun[] {
  return job.runs ?? seqRunsByRoom(job.messages ?? []);
}

/**
 * Each room's seqs as runs of consecutive numbers: a run's score range in the room's buffer
 * holds exactly those messages, since every seq in it is one of them. A batch's messages of
 * one room are mostly consecutive, so a job names them in a few numbers.
 */
export function seqRunsByRoom(messages: MessagePlace[]): SeqRun[] {
  const byRoom = new Map<number, number[]>();
  for (const { chatroomId, seq } of messages) {
    const seqs = byRoom.get(chatroomId);
    if (seqs) seqs.push(seq);
    else byRoom.set(chatroomId, [seq]);
  }
  const runs: SeqRun[] = [];
  for (const [room, seqs] of byRoom) {
    seqs.sort((a, b) => a - b);
    let from = seqs[0];
    for (let i = 1; i <= seqs.length; i++) {
      if (i < seqs.length && seqs[i] <= seqs[i - 1] + 1) continue; // consecutive (or a repeat)
      runs.push([room, from, seqs[i - 1]]);
      from = seqs[i];
    }
  }
  return runs;
}

/**
 * Retries outlast any database outage an operator would tolerate: attempts are effectively
 * unbounded, with a capped backoff (cappedBackoff). Completed jobs are removed at
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
