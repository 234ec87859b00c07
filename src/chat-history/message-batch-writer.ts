import { Injectable, Logger } from '@nestjs/common';
import { DeadLetterRepository, RefusedMessage } from './dead-letter.repository';
import { MessageWriteRepository } from './message-write.repository';
import type { QueuedMessage } from './message.types';
import { classifyPersistError, sqlState } from './persist-errors';

/**
 * Stores a batch so that no message can keep the others out. The whole batch goes in one
 * statement; if PostgreSQL refuses it as data (persist-errors.ts), the batch is split in
 * halves until the refused rows are alone (log2(n) extra statements per bad row; the good
 * rows of each half are stored on the way). Transient errors are thrown for the job to be
 * retried: every statement is idempotent, so the halves already stored cost nothing then.
 *
 * A refused message is set aside: recorded in dead_letters first (so a crash below never
 * loses the record), then its seq is held by a tombstone (deleted, empty content, no
 * clientMsgId) so that the room's history keeps no hole, as for a retracted message.
 */
@Injectable()
export class MessageBatchWriter {
  private readonly logger = new Logger('DeadLetters');

  constructor(
    private readonly repo: MessageWriteRepository,
    private readonly deadLetters: DeadLetterRepository,
  ) {}

  /** Stores what PostgreSQL accepts and sets aside the rest; returns what was set aside. */
  async store(messages: QueuedMessage[]): Promise<RefusedMessage[]> {
    const refused = await this.insertOrSplit(messages);
    if (!refused.length) return refused;
    await this.deadLetters.record(refused);
    // A tombstone can be refused too (its room or sender is gone): the dead letter says so.
    await this.insertOrSplit(refused.map((r) => tombstoneOf(r.message)));
    await this.deadLetters.markTombstoned(refused.map((r) => r.message.id));
    for (const r of refused) {
      const m = r.message;
      this.logger.error(
        `message ${m.id} (room ${m.chatroomId}, seq ${m.seq}, sender ${m.senderId}) refused by PostgreSQL` +
          ` [${r.code ?? 'no code'}] ${r.reason}: moved to dead_letters, a tombstone holds its seq`,
      );
    }
    return refused;
  }

  /** Inserts what PostgreSQL accepts; returns the rows it refused as data, throws otherwise. */
  private async insertOrSplit(messages: QueuedMessage[]): Promise<RefusedMessage[]> {
    if (!messages.length) return [];
    try {
      const inserted = await this.repo.insertBatch(messages);
      return inserted === messages.length ? [] : await this.clashing(messages);
    } catch (err) {
      if (classifyPersistError(err) !== 'data') throw err;
      if (messages.length === 1) return [{ message: messages[0], code: sqlState(err), reason: (err as Error).message }];
      const half = Math.ceil(messages.length / 2);
      const first = await this.insertOrSplit(messages.slice(0, half));
      return [...first, ...(await this.insertOrSplit(messages.slice(half)))];
    }
  }

  /**
   * ON CONFLICT DO NOTHING skipped rows. Those whose id is stored were stored before (a
   * retry, a re-sweep): fine. Any other clashed with a different message on (room, seq) or
   * on (room, sender, clientMsgId).
   *
   * A clientMsgId clash is a resend that the dedupe record no longer knew (sent after
   * DEDUPE_WINDOW_S, or the record was evicted or lost with a Redis failover): it was acked
   * and broadcast as a new message with its own id and seq, and acked means stored. So it
   * is stored without its clientMsgId, which stays the first message's (the unique index
   * is the database's guard against double rows; the send path checks only Redis, to cost
   * no PostgreSQL read per send). What still does not fit (a clash on seq) would vanish
   * silently: it is refused like bad data.
   */
  private async clashing(messages: QueuedMessage[]): Promise<RefusedMessage[]> {
    const stored = await this.repo.storedIds(messages.map((m) => m.id));
    const skipped = messages.filter((m) => !stored.has(m.id));
    const resends = skipped.filter((m) => m.clientMsgId);
    // Without clientMsgIds the insert can only clash on seq: those come back refused (no recursion).
    const again = await this.insertOrSplit(resends.map(withoutClientMsgId));
    const refusedAgain = new Set(again.map((r) => r.message.id));
    this.logResends(resends.filter((m) => !refusedAgain.has(m.id)));
    const original = new Map(resends.map((m) => [m.id, m]));
    return [
      ...skipped.filter((m) => !m.clientMsgId).map(clash),
      // Dead-lettered as sent, clientMsgId included.
      ...again.map((r) => ({ ...r, message: original.get(r.message.id) ?? r.message })),
    ];
  }

  private logResends(stored: QueuedMessage[]): void {
    for (const m of stored) {
      this.logger.warn(
        `message ${m.id} (room ${m.chatroomId}, seq ${m.seq}, sender ${m.senderId}) reuses clientMsgId` +
          ` "${m.clientMsgId}" of a stored message (a resend after DEDUPE_WINDOW_S, or its dedupe record was` +
          ' lost): it was acked as a new message, stored without the clientMsgId',
      );
    }
  }
}

const clash = (message: QueuedMessage): RefusedMessage => ({
  message,
  code: '23505',
  reason: 'another stored message has the same room and seq',
});

/** A message as stored when its clientMsgId is a stored message's already (see clashing). */
export function withoutClientMsgId(m: QueuedMessage): QueuedMessage {
  const copy = { ...m };
  delete copy.clientMsgId;
  return copy;
}

/** What history shows at a dead letter's seq: a tombstone, as for a retracted message. */
export function tombstoneOf(m: QueuedMessage): QueuedMessage {
  const createdAt = Number.isNaN(Date.parse(m.createdAt)) ? new Date().toISOString() : m.createdAt;
  return {
    id: m.id,
    chatroomId: m.chatroomId,
    seq: m.seq,
    senderId: m.senderId,
    sender: m.sender,
    type: 'text',
    content: '',
    createdAt,
    deletedAt: new Date().toISOString(),
  };
}
