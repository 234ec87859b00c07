import { Injectable } from '@nestjs/common';
import { DatabasePool } from '../prisma/database-pool';
import { DatabaseIdentity } from '../redis/database-identity';
import type { QueuedMessage } from './message.types';

/**
 * The fields of a message the INSERT reads, named as json_to_recordset's columns below. One
 * JSON text instead of eleven column arrays: V8 writes it natively, where the driver built
 * each array literal by concatenating escaped elements, a third of the persistence thread's
 * allocations (README, Performance).
 */
const INSERTED_FIELDS: (keyof QueuedMessage)[] = [
  'id',
  'chatroomId',
  'seq',
  'senderId',
  'type',
  'content',
  'clientMsgId',
  'createdAt',
  'editedAt',
  'deletedAt',
  'deletedById',
];

/** See insertBatch. Plain SQL on the pool: the worker's hot statement skips the query engine. */
const INSERT_BATCH_SQL = `
  WITH ins AS (
    INSERT INTO messages (id, chatroom_id, seq, sender_id, type, content, client_msg_id,
                          created_at, edited_at, deleted_at, deleted_by_id)
    SELECT id, "chatroomId", seq, "senderId", type, content, "clientMsgId",
           "createdAt", "editedAt", "deletedAt", "deletedById"
      FROM json_to_recordset($1::json) AS m(id uuid, "chatroomId" int, seq int, "senderId" int,
           type "MessageType", content text, "clientMsgId" varchar, "createdAt" timestamptz,
           "editedAt" timestamptz, "deletedAt" timestamptz, "deletedById" int)
     WHERE EXISTS (SELECT 1 FROM database_identity WHERE id = $2::uuid)
    ON CONFLICT DO NOTHING
    RETURNING chatroom_id, seq, sender_id, created_at
  ), rooms AS (
    UPDATE chatrooms c
       SET last_seq = GREATEST(c.last_seq, r.seq),
           last_message_at = GREATEST(c.last_message_at, r.at)
      FROM (SELECT chatroom_id, max(seq) AS seq, max(created_at) AS at FROM ins GROUP BY chatroom_id) r
     WHERE c.id = r.chatroom_id
  ), senders AS (
    -- Sending means having seen the room: the sender's read position moves to their message
    -- (as in most chat apps), which also keeps "my messages after my position" sparse.
    UPDATE chatroom_members cm
       SET read_seq = GREATEST(cm.read_seq, s.seq)
      FROM (SELECT chatroom_id, sender_id, max(seq) AS seq FROM ins GROUP BY chatroom_id, sender_id) s
     WHERE cm.chatroom_id = s.chatroom_id AND cm.user_id = s.sender_id
  )
  SELECT (SELECT count(*)::int FROM ins) AS inserted,
         EXISTS (SELECT 1 FROM database_identity WHERE id = $2::uuid) AS "sameDatabase"`;

/** See catchUp. */
const CATCH_UP_SQL = `
  UPDATE messages m SET
         content = u.content,
         edited_at = GREATEST(m.edited_at, u.edited_at),
         deleted_at = u.deleted_at,
         deleted_by_id = u.deleted_by_id
    FROM unnest($1::uuid[], $2::text[], $3::timestamptz[], $4::timestamptz[], $5::int[])
         AS u(id, content, edited_at, deleted_at, deleted_by_id)
   WHERE m.id = u.id
     AND m.deleted_at IS NULL
     AND (u.deleted_at IS NOT NULL OR u.edited_at > COALESCE(m.edited_at, '-infinity'))`;

/**
 * The database is not the one whose identity names this process's Redis keys (it was
 * dropped and recreated, or restored from another, while the process ran): storing the
 * queued messages of the other history here would mix the two. Retried (transient) until
 * an operator restarts the process, which then uses the new database's keys.
 */
export class DatabaseIdentityChangedError extends Error {
  constructor(expected: string) {
    super(`the database is no longer ${expected} (database_identity changed): restart this process`);
  }
}

/**
 * The statements of the persistence worker: plain parameterised SQL on the pool, one
 * statement per batch, no query engine. Kept apart from MessageRepository (the server's
 * reads, through Prisma) so that the persistence thread loads neither Prisma's client nor
 * its query compiler: they cost the thread's heap about 5 MiB for nothing (README,
 * Performance).
 */
@Injectable()
export class MessageWriteRepository {
  constructor(
    private readonly pool: DatabasePool,
    private readonly identity: DatabaseIdentity,
  ) {}

  /**
   * Stores a batch in one statement: the rows go in as one JSON array (json_to_recordset), so
   * the statement and its parameter count stay the same whatever the batch size, and the rooms'
   * last_seq / last_message_at advance in the same round trip. ON CONFLICT DO NOTHING makes
   * a retried or re-swept batch harmless: (chatroom_id, seq) and (sender_id, client_msg_id)
   * are unique. Returns how many rows were new. Inserts nothing, and throws, if the database
   * is not the one this process started with (DatabaseIdentityChangedError).
   */
  async insertBatch(messages: QueuedMessage[]): Promise<number> {
    if (!messages.length) return 0;
    const { rows } = await this.pool.query<{ inserted: number; sameDatabase: boolean }>(INSERT_BATCH_SQL, [
      JSON.stringify(messages, INSERTED_FIELDS),
      this.identity.id,
    ]);
    if (!rows[0]?.sameDatabase) throw new DatabaseIdentityChangedError(this.identity.id);
    return rows[0].inserted;
  }

  /**
   * Brings stored rows up to the newer copies of their messages: those edited or retracted
   * while queued, whose row an earlier attempt (or this one, before the edit) stored as it
   * was. One statement. Only ever forward, so that a worker holding an older copy (a stalled
   * duplicate of a job) cannot undo a later edit: content moves only to a later editedAt,
   * and a tombstone stays as it is. Returns how many rows changed.
   */
  async catchUp(messages: QueuedMessage[]): Promise<number> {
    if (!messages.length) return 0;
    const col = <T>(f: (m: QueuedMessage) => T) => messages.map(f);
    const { rowCount } = await this.pool.query(CATCH_UP_SQL, [
      col((m) => m.id),
      col((m) => (m.deletedAt ? '' : m.content)),
      col((m) => m.editedAt ?? null),
      col((m) => m.deletedAt ?? null),
      col((m) => m.deletedById ?? null),
    ]);
    return rowCount ?? 0;
  }

  /** Which of these ids are stored (one statement, primary key). */
  async storedIds(ids: string[]): Promise<Set<string>> {
    if (!ids.length) return new Set();
    const { rows } = await this.pool.query<{ id: string }>(
      'SELECT id::text AS id FROM messages WHERE id = ANY($1::uuid[])',
      [ids],
    );
    return new Set(rows.map((r) => r.id));
  }
}
