import type { Page } from './chat-history.service';

/**
 * Characters of JSON that one page of messages (history, inbox, sent and admin lists) or one
 * `sync` answer may carry, counting each message's content as JSON writes it (messageChars)
 * and PAGE_CHARS_PER_MESSAGE for the rest of it. A page of 200 messages of 4,000 control
 * characters was 4.85 MB of JSON (each escapes to six bytes) and 200–240 ms of the event
 * loop to serialize, a sync answer of 500 of them 12 MB, and every other client waited it
 * out. A page of ordinary messages is never cut. A cut page says `hasMore` with its cursor,
 * as a full one does.
 */
export const PAGE_MAX_CHARS = 250_000;
/** What a message costs besides its content: ids, names, dates. */
export const PAGE_CHARS_PER_MESSAGE = 200;

/** A character JSON writes as an escape: controls, `"` and `\`. */
// eslint-disable-next-line no-control-regex -- the controls are the point
const ESCAPED = /[\u0000-\u001f"\\]/;
/** Controls JSON escapes in two characters (\b \t \n \f \r); the others take six (\u0001). */
const SHORT_ESCAPE = new Set([0x08, 0x09, 0x0a, 0x0c, 0x0d]);

/** JSON's length for one UTF-16 unit of a string. */
const jsonUnitLength = (c: number): number =>
  c < 0x20 ? (SHORT_ESCAPE.has(c) ? 2 : 6) : c === 0x22 || c === 0x5c ? 2 : 1;

/**
 * The length of `s` inside a JSON string, quotes left out: what serializing and sending it
 * costs. The usual text has nothing to escape and is counted by one native scan. (Input
 * refuses unpaired surrogates, the one other thing JSON escapes.)
 */
export function jsonTextLength(s: string): number {
  if (!ESCAPED.test(s)) return s.length;
  let n = 0;
  for (let i = 0; i < s.length; i++) n += jsonUnitLength(s.charCodeAt(i));
  return n;
}

/**
 * How much of each room's last message the room lists carry (`GET /chatrooms`, `GET
 * /inbox`), in characters of JSON: a list of a user's 1,000 rooms, each ending in 4,000
 * control characters, was 24 MB to build for one request. Longer ones are cut, and say
 * `truncated: true`; history has them whole.
 */
export const PREVIEW_MAX_CHARS = 500;

/** A message as a room list shows it: its content cut to PREVIEW_MAX_CHARS of JSON. */
export function previewOf<T extends { content: string }>(m: T): T | (T & { truncated: true }) {
  const s = m.content;
  let chars = 0;
  let end = 0;
  while (end < s.length && chars + jsonUnitLength(s.charCodeAt(end)) <= PREVIEW_MAX_CHARS) {
    chars += jsonUnitLength(s.charCodeAt(end++));
  }
  if (end === s.length) return m;
  // Never half of a surrogate pair: the cut would not be valid text.
  if (end > 0 && isHighSurrogate(s.charCodeAt(end - 1))) end--;
  return { ...m, content: s.slice(0, end), truncated: true };
}

const isHighSurrogate = (c: number): boolean => c >= 0xd800 && c <= 0xdbff;

/** What one message weighs in a page or a sync answer, and in the sync budget. */
export function messageChars(m: { content: string }): number {
  return jsonTextLength(m.content) + PAGE_CHARS_PER_MESSAGE;
}

/** How many of `items`, in page order, fit in PAGE_MAX_CHARS: at least one. */
export function fittingCount(items: readonly { content: string }[]): number {
  return fittingCounts([items])[0];
}

/**
 * How many of each list's messages fit in one answer of PAGE_MAX_CHARS, taken one from each
 * list in turn, so that every room of a sync moves on alike. Every list that has messages
 * gets at least one, whatever it weighs: a client that sees `hasMore` and no message in a
 * room would take it as stuck (the SDK does) and leave a gap.
 */
export function fittingCounts(lists: readonly (readonly { content: string }[])[]): number[] {
  const counts = lists.map((l) => Math.min(1, l.length));
  let chars = 0;
  for (const l of lists) if (l.length) chars += messageChars(l[0]);
  let open = lists.flatMap((l, i) => (l.length > 1 ? [i] : []));
  while (open.length) {
    const still: number[] = [];
    for (const i of open) {
      chars += messageChars(lists[i][counts[i]]);
      if (chars > PAGE_MAX_CHARS) return counts;
      if (++counts[i] < lists[i].length) still.push(i);
    }
    open = still;
  }
  return counts;
}

/** A REST page cut to what fits, continuing where it stops. */
export function cutBySize<T extends { content: string }>(page: Page<T>, cursorOf: (last: T) => string): Page<T> {
  const fits = fittingCount(page.items);
  if (fits === page.items.length) return page;
  const items = page.items.slice(0, fits);
  return { items, hasMore: true, nextCursor: cursorOf(items[fits - 1]) };
}
