import { PAGE_CHARS_PER_MESSAGE, PAGE_MAX_CHARS } from '../chat-history/page-size';
import { Prisma } from '../generated/prisma/client';

/** A page's rows, and whether rows were left out of it for their size (sizedRowsSql). */
export interface SizedRows<T> {
  rows: T[];
  cut: boolean;
}

/** A row as sizedRowsSql returns it: sizedRows takes the two columns off again. */
export type Sized<T> = T & { bytes_before: bigint; rows_read: bigint };

/**
 * Of `page`'s rows (a statement of messages with a `content` column, ordered by the unique
 * `key` and LIMITed), only those that begin within PAGE_MAX_CHARS bytes of content (plus
 * PAGE_CHARS_PER_MESSAGE each), counted by PostgreSQL from the stored sizes, in page order.
 * The pages are cut by size anyway (cutBySize), and reading all `limit` rows first took
 * 0.8 MB from PostgreSQL for a page of 200 messages of 4,000 controls, to send ten of them
 * (2.4 MB for 4,000 CJK characters); the rows left out here are never sent. History and
 * sync read the same way (MessageRepository.sizedPage). An ASCII character is one byte and
 * at least one character of JSON, so this keeps at least what cutBySize keeps; text of
 * multi-byte characters gets shorter pages, at most about PAGE_MAX_CHARS bytes of UTF-8
 * (they were up to 720 KB). Read the result with sizedRows.
 */
export function sizedRowsSql(page: Prisma.Sql, key: 'id' | 'seq', order: 'ASC' | 'DESC'): Prisma.Sql {
  const by = Prisma.raw(`${key} ${order}`);
  return Prisma.sql`
    SELECT w.* FROM (
      SELECT l.*,
             sum(octet_length(l.content) + ${PAGE_CHARS_PER_MESSAGE}) OVER (ORDER BY l.${by})
               - octet_length(l.content) - ${PAGE_CHARS_PER_MESSAGE} AS bytes_before,
             count(*) OVER () AS rows_read
        FROM (${page}) l
    ) w
    WHERE w.bytes_before < ${PAGE_MAX_CHARS}
    ORDER BY w.${by}`;
}

/**
 * sizedRowsSql's rows without its columns. `cut`: PostgreSQL left rows out for their size, so
 * the page must end at the last row and say there is more, whatever `limit` allowed; the
 * first row always comes, whatever it weighs, so a page never stalls.
 */
export function sizedRows<T>(read: Sized<T>[]): SizedRows<T> {
  const cut = read.length > 0 && read.length < Number(read[0].rows_read);
  return { rows: read.map(({ bytes_before: _, rows_read: __, ...row }) => row as T), cut };
}

/**
 * The queued messages that belong on a page read newest first by id: all of them or, when
 * the read was cut, those newer than its last row. Older ones come with the next page, whose
 * cursor is that row's id; listed now as well, they would push the cursor past stored rows
 * nobody has seen yet.
 */
export function queuedWithin<Q extends { id: string }>(queued: Q[], read: SizedRows<{ id: string }>): Q[] {
  if (!read.cut) return queued;
  const last = read.rows[read.rows.length - 1].id;
  return queued.filter((m) => m.id > last);
}
