import { Injectable } from '@nestjs/common';
import { DatabasePool } from '../prisma/database-pool';
import type { QueuedMessage } from './message.types';
import { storableText } from './persist-errors';

/** A message PostgreSQL refused as data, with why. */
export interface RefusedMessage {
  message: QueuedMessage;
  /** SQLSTATE, when PostgreSQL gave one. */
  code?: string;
  reason: string;
}

const RECORD_SQL = `
  INSERT INTO dead_letters (message_id, chatroom_id, seq, sender_id, payload, error_code, error_message)
  SELECT * FROM unnest($1::uuid[], $2::int[], $3::int[], $4::int[], $5::text[], $6::varchar[], $7::text[])
  ON CONFLICT (message_id) DO NOTHING`;

/**
 * The dead-letter table: acknowledged messages set aside because PostgreSQL refused them as
 * data, for operators (`SELECT * FROM dead_letters`, and the count in /health).
 */
@Injectable()
export class DeadLetterRepository {
  constructor(private readonly pool: DatabasePool) {}

  /**
   * Records refused messages once each (a retried batch records nothing twice). The payload is
   * JSON text: JSON.stringify writes NUL and other control characters as \u escapes and lone
   * surrogates as escapes too, so whatever PostgreSQL refused in the message, this row it takes.
   */
  async record(refused: RefusedMessage[]): Promise<void> {
    if (!refused.length) return;
    const col = <T>(f: (r: RefusedMessage) => T) => refused.map(f);
    await this.pool.query(RECORD_SQL, [
      col((r) => r.message.id),
      col((r) => r.message.chatroomId),
      col((r) => r.message.seq),
      col((r) => r.message.senderId),
      col((r) => JSON.stringify(r.message)),
      col((r) => r.code ?? null),
      col((r) => storableText(r.reason)),
    ]);
  }

  /** Notes which of these dead letters have a tombstone holding their seq in `messages`. */
  async markTombstoned(messageIds: string[]): Promise<void> {
    if (!messageIds.length) return;
    await this.pool.query(
      `UPDATE dead_letters d SET tombstoned = true
         FROM messages m
        WHERE d.message_id = ANY($1::uuid[]) AND m.id = d.message_id AND NOT d.tombstoned`,
      [messageIds],
    );
  }

  async count(): Promise<number> {
    const { rows } = await this.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM dead_letters');
    return rows[0].n;
  }
}
