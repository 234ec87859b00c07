import type { Page } from './chat-history.service';

/**
 * Characters of messages one page of messages may carry (history, inbox, sent and admin
 * lists), counting each message's content and PAGE_CHARS_PER_MESSAGE for the rest of it. A
 * page of 200 messages of 4,000 control characters was 4.85 MB of JSON (each escapes to six
 * bytes) and 200–240 ms of the event loop to serialize, which every other client waited
 * out; at most 250,000 characters it is at most 1.5 MB, and a page of ordinary messages is
 * never cut. A cut page says `hasMore` with its cursor, as a full one does.
 */
export const PAGE_MAX_CHARS = 250_000;
/** What a message costs besides its content: ids, names, dates (as sync counts it). */
export const PAGE_CHARS_PER_MESSAGE = 200;

/** How many of `items`, in page order, fit in PAGE_MAX_CHARS: at least one. */
export function fittingCount(items: readonly { content: string }[]): number {
  let chars = 0;
  for (let i = 0; i < items.length; i++) {
    chars += items[i].content.length + PAGE_CHARS_PER_MESSAGE;
    if (chars > PAGE_MAX_CHARS) return Math.max(1, i);
  }
  return items.length;
}

/**
 * A REST page cut to what fits, continuing where it stops. (`sync` is not cut here: its
 * answers have their own character budget and wait for the client to read the last one.)
 */
export function cutBySize<T extends { content: string }>(page: Page<T>, cursorOf: (last: T) => string): Page<T> {
  const fits = fittingCount(page.items);
  if (fits === page.items.length) return page;
  const items = page.items.slice(0, fits);
  return { items, hasMore: true, nextCursor: cursorOf(items[fits - 1]) };
}
