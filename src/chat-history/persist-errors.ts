import { errorCodes } from '../common/errors';

/**
 * Why storing failed, which decides what the worker does next:
 * - `data`: PostgreSQL refused these values (a NUL byte, a value out of range, a row breaking
 *   a constraint). Retrying cannot help and would hold up every other message of the batch:
 *   find the refused rows and set them aside (dead letters).
 * - `transient`: the database or the way to it is away or busy (connection refused or reset,
 *   timeouts, shutdown, too many connections, deadlock, read-only after a failover). Retry
 *   until it is back; nothing is lost meanwhile.
 * Anything not recognised is transient: retrying an error we do not understand costs time,
 * setting aside a message that was fine would lose it for its readers.
 */
export type PersistErrorKind = 'data' | 'transient';

/**
 * SQLSTATE classes and codes that describe the row, not the server:
 * 22 data exception (22P05 a NUL in the batch's JSON, 22021 invalid byte sequence; 22001 too
 * long; 22P02 bad enum),
 * 23 integrity violation (NOT NULL, foreign key, CHECK; a unique violation cannot come from
 * the worker's ON CONFLICT DO NOTHING, so one that does is about the row as well),
 * 54000 program limit exceeded (an index row too large for its B-tree page).
 */
const DATA_CLASSES = new Set(['22', '23']);
const DATA_CODES = new Set(['54000']);

/**
 * The SQLSTATE of an error from node-postgres or Prisma's driver adapter (errorCodes), or
 * undefined (network errors carry `ECONNREFUSED`-like codes, which are not SQLSTATEs).
 */
export function sqlState(err: unknown): string | undefined {
  return errorCodes(err).find((c) => /^[0-9A-Z]{5}$/.test(c));
}

export function classifyPersistError(err: unknown): PersistErrorKind {
  const state = sqlState(err);
  if (!state) return 'transient';
  return DATA_CLASSES.has(state.slice(0, 2)) || DATA_CODES.has(state) ? 'data' : 'transient';
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** Text PostgreSQL can store: no NUL, no lone surrogate (error messages may quote the input). */
export function storableText(s: string, max = 2000): string {
  return s.replace(LONE_SURROGATE, '\uFFFD').replaceAll('\u0000', '\\u0000').slice(0, max);
}
