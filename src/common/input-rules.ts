import { applyDecorators } from '@nestjs/common';
import { Transform } from 'class-transformer';
import { buildMessage, IsInt, IsUUID, Max, Min, ValidateBy, ValidationOptions } from 'class-validator';

/** The largest value of a PostgreSQL `int4` column: every id and seq in this schema is one. */
export const MAX_INT4 = 2_147_483_647;

/**
 * A row id (users, chatrooms): an integer 1..2^31-1. Bigger numbers would reach PostgreSQL
 * and fail there ("value out of range") instead of being refused here.
 */
export const IsId = (options?: ValidationOptions) =>
  applyDecorators(IsInt(options), Min(1, options), Max(MAX_INT4, options));

/**
 * A query-string integer: only plain decimal digits (optionally signed), written as the
 * number is written (no leading zero, no `-0`, as path ids), become a number.
 * `Number()` (what `@Type(() => Number)` applies) also reads `1e3`, `0x10`, `0b1`, ` 7 `,
 * `007`, an empty string (0) and a one-element array; those stay as they came, so the
 * integer rules after this refuse them by name instead of reading a different number.
 */
export const QueryInt = () =>
  Transform(({ value }: { value: unknown }) =>
    typeof value === 'string' && /^(?:0|-?[1-9]\d{0,15})$/.test(value) ? Number(value) : value,
  );

/** A string in lower case; anything else (left for the rules after it to refuse) as it came. */
const lowerCase = (x: unknown): unknown => (typeof x === 'string' ? x.toLowerCase() : x);

/**
 * A message id, or a list of them with `{each: true}`: a UUID in either case, lower-cased
 * here. Ids are stored and issued in lower case, and the queued-message store and the
 * pending-list filters compare them as strings: `01A2...` passed validation and then found
 * nothing (404), and as a cursor it sorted before every lower-case id. PostgreSQL's `uuid`
 * reads both cases alike; now every route does.
 */
export const IsMessageId = (options?: ValidationOptions) =>
  applyDecorators(
    Transform(({ value }: { value: unknown }) => (Array.isArray(value) ? value.map(lowerCase) : lowerCase(value))),
    IsUUID('all', options),
  );

/**
 * A string's length as PostgreSQL's varchar(n) and char_length count it: code points. Counts
 * no further than `stopAfter`, so refusing a long string does not walk all of it.
 */
export function codePointLength(s: string, stopAfter = Infinity): number {
  let n = 0;
  // eslint-disable-next-line @typescript-eslint/no-unused-vars -- only the count matters
  for (const _ of s) if (++n > stopAfter) break;
  return n;
}

/**
 * Whether `s` has more than `max` characters, counted as code points (an emoji is one, as
 * for the varchar fields). Most texts are decided by their UTF-16 length alone: no walk.
 */
export function longerThan(s: string, max: number): boolean {
  return s.length > max && codePointLength(s, max) > max;
}

/**
 * class-validator's @Length and @MaxLength count as validator.js does, where a character
 * followed by a variation selector (U+FE0E/U+FE0F) is one: "a\uFE0F" x 100 passed
 * @Length(1, 100) and then overflowed varchar(100) as a 500. These count code points, what the
 * column (and a JSON Schema `maxLength`) counts. Same rule names, constraints and messages as
 * class-validator's, so whatever reads the rules (the OpenAPI and fuzz checks) reads them alike.
 */
export const MaxCodePoints = (max: number, options?: ValidationOptions) =>
  ValidateBy(
    {
      name: 'maxLength',
      constraints: [max],
      validator: {
        validate: (value: unknown) => typeof value === 'string' && codePointLength(value, max) <= max,
        defaultMessage: buildMessage(
          (each) => `${each}$property must be shorter than or equal to $constraint1 characters`,
          options,
        ),
      },
    },
    options,
  );

/** @Length(min, max) in code points; see MaxCodePoints. */
export const LengthInCodePoints = (min: number, max: number, options?: ValidationOptions) =>
  ValidateBy(
    {
      name: 'isLength',
      constraints: [min, max],
      validator: {
        validate: (value: unknown) => {
          if (typeof value !== 'string') return false;
          const n = codePointLength(value, max);
          return n >= min && n <= max;
        },
        defaultMessage: buildMessage((each, args) => {
          const value: unknown = args?.value;
          if (typeof value !== 'string')
            return `${each}$property must be longer than or equal to $constraint1 and shorter than or equal to $constraint2 characters`;
          return codePointLength(value, max) < min
            ? `${each}$property must be longer than or equal to $constraint1 characters`
            : `${each}$property must be shorter than or equal to $constraint2 characters`;
        }, options),
      },
    },
    options,
  );

/** A room sequence number or read position: an integer 0..2^31-1 (`int4`). */
export const IsSeq = (options?: ValidationOptions) =>
  applyDecorators(IsInt(options), Min(0, options), Max(MAX_INT4, options));

// Only forms PostgreSQL's timestamptz input reads exactly as ECMAScript does: a calendar date,
// optionally with a time of day and a mandatory zone. ISO week dates (2024-W01-1), ordinal
// dates, expanded years (+2024-01-01) and the like pass IsISO8601 but fail the cast.
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d{1,6})?(?:Z|[+-](\d{2}):(\d{2}))$/;
const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;

const daysInMonth = (y: number, m: number) => new Date(Date.UTC(y, m, 0)).getUTCDate();

/**
 * True for `YYYY-MM-DDTHH:mm:ss(.ffffff)?(Z|±hh:mm)` with a real calendar date, years
 * 0001..9999, hours 00..23 and offsets up to ±14:59.
 */
export function isStrictDateTime(value: unknown): boolean {
  if (typeof value !== 'string') return false;
  const m = DATE_TIME.exec(value);
  if (!m) return false;
  const [y, mo, d, h, mi, s, oh = '0', om = '0'] = m.slice(1).map((x) => x ?? '0');
  const year = Number(y);
  const month = Number(mo);
  if (year < 1 || month < 1 || month > 12) return false;
  // Date.UTC maps years 0..99 to 1900..1999; leap years repeat every 400 years, so shift.
  const day = Number(d);
  if (day < 1 || day > daysInMonth(year < 100 ? year + 400 : year, month)) return false;
  return Number(h) <= 23 && Number(mi) <= 59 && Number(s) <= 59 && Number(oh) <= 14 && Number(om) <= 59;
}

/**
 * A point in time for a filter: `YYYY-MM-DD` (midnight UTC) or an ISO 8601 date-time with
 * a zone, in the strict form isStrictDateTime accepts. Anything else is VALIDATION_FAILED
 * here rather than an error from PostgreSQL's cast.
 */
export const IsStrictDate = (options?: ValidationOptions) =>
  applyDecorators(
    Transform(({ value }: { value: unknown }) =>
      typeof value === 'string' && DATE_ONLY.test(value) ? `${value}T00:00:00Z` : value,
    ),
    ValidateBy(
      {
        name: 'isStrictDate',
        validator: {
          validate: (value: unknown) => isStrictDateTime(value),
          defaultMessage: (args) =>
            `${args?.property ?? 'value'} must be YYYY-MM-DD or YYYY-MM-DDTHH:mm:ss(.sss)(Z|±hh:mm), a real date in years 1-9999`,
        },
      },
      options,
    ),
  );

/**
 * A character that is not blank: anything but whitespace (JS `\s` with the `u` flag: spaces,
 * tabs, newlines, U+00A0, U+3000 and the other Unicode spaces), Unicode's default-ignorable
 * code points (zero-width spaces and joiners, U+2060 word joiner, soft hyphen, direction
 * marks, variation selectors, Hangul fillers, U+FEFF: they render as nothing) and U+2800, the
 * blank Braille pattern. As a JSON Schema / OpenAPI `pattern` (unanchored: "contains one")
 * it says the same to clients.
 */
export const NOT_BLANK_PATTERN = '[^\\s\\p{Default_Ignorable_Code_Point}\\u2800]';
const NOT_BLANK = new RegExp(NOT_BLANK_PATTERN, 'u');

/** True for a string with nothing to read in it ('' included); stops at the first visible character. */
export const isBlank = (s: string): boolean => !NOT_BLANK.test(s);

/**
 * Text someone has to read (message content, room names) holds a visible character. Only
 * checked, never trimmed: content with one keeps its spaces as sent. Non-strings are left
 * to `@IsString()`.
 */
export const IsNotBlank = (options?: ValidationOptions) =>
  ValidateBy(
    {
      name: 'isNotBlank',
      validator: {
        validate: (value: unknown) => typeof value !== 'string' || !isBlank(value),
        defaultMessage: (args) => `${args?.property ?? 'value'} must not be blank (only whitespace)`,
      },
    },
    options,
  );

/**
 * The bidirectional formatting characters that reorder the text after them: the embeddings and
 * overrides U+202A-U+202E (LRE, RLE, PDF, LRO, RLO) and the isolates U+2066-U+2069 (LRI, RLI,
 * FSI, PDI). "\u202Eevil" reads "live", a name can be made to show as another user's, and one
 * left open carries on into whatever a client prints next to it (the message, the next name).
 * As the inside of a regular expression character class, the same with and without the `u` flag.
 *
 * Not here: the marks U+200E/U+200F (LRM, RLM) and U+061C (ALM). They reorder nothing: each is
 * an invisible strong character that only settles the direction of neutral characters (spaces,
 * punctuation, digits) next to it, and cannot reach past the text it sits in. They are what a
 * right-to-left writer types to get "שלום!" or a Latin word inside Arabic to display right, so
 * refusing them would refuse ordinary names; a name of nothing but marks is blank (isBlank)
 * already.
 */
export const BIDI_CONTROL_CLASS = '\\u202a-\\u202e\\u2066-\\u2069';
const BIDI_CONTROL = new RegExp(`[${BIDI_CONTROL_CLASS}]`);

/** True for a string with a bidirectional embedding, override or isolate (BIDI_CONTROL_CLASS) in it. */
export const hasBidiControl = (s: string): boolean => BIDI_CONTROL.test(s);

/**
 * Names other users read as who or what something is (nickName, room names) hold no
 * bidirectional embedding, override or isolate (BIDI_CONTROL_CLASS). Letters of right-to-left
 * scripts (Hebrew, Arabic...) are fine: clients lay them out by themselves. Non-strings are
 * left to `@IsString()`.
 */
export const NoBidiControls = (options?: ValidationOptions) =>
  ValidateBy(
    {
      name: 'noBidiControls',
      validator: {
        validate: (value: unknown) => typeof value !== 'string' || !hasBidiControl(value),
        defaultMessage: buildMessage(
          (each) =>
            `${each}$property must not contain bidirectional override, embedding or isolate characters (U+202A-U+202E, U+2066-U+2069)`,
          options,
        ),
      },
    },
    options,
  );

/**
 * IsNotBlank and NoBidiControls together as one JSON Schema / OpenAPI `pattern` (with the `u`
 * flag, as Ajv and ECMAScript read patterns): no bidirectional control anywhere and at least one
 * visible character. Documentation for clients; the server checks the two rules by themselves.
 * Linear in the text: a lookahead refuses a control anywhere, then a lazy run finds the first
 * visible character. (Written as `^[^C]*V[^C]*$`, a validator backtracked over every place the
 * visible character could be: a probe timed 5 s on 60,000 characters ending in a control.)
 */
export const DISPLAY_NAME_PATTERN = `^(?![\\s\\S]*[${BIDI_CONTROL_CLASS}])[\\s\\S]*?${NOT_BLANK_PATTERN}`;

/**
 * Image and file messages carry a link: an absolute `https:` or `http:` URL without spaces,
 * control characters or bidirectional overrides (which make a link read as another), and
 * without a user name or password (`https://bank.example@evil.example/` reads as the bank).
 * Anything else (`javascript:`, `data:`, `file:`, a relative path) would be a link that every
 * client rendering the room has to defend against; the web client shows only `https:` images.
 */
const MEDIA_URL_SHAPE = new RegExp(`^https?://[^\\s\\u0000-\\u001f\\u007f${BIDI_CONTROL_CLASS}]+$`, 'i');

export function isMediaUrl(content: string): boolean {
  if (!MEDIA_URL_SHAPE.test(content)) return false;
  const url = URL.parse(content);
  return url !== null && url.username === '' && url.password === '';
}

export const MEDIA_URL_RULE = 'must be an http(s) URL for image and file messages';

/** A string that is an http(s) URL (isMediaUrl), for fields that are links by themselves. */
export const IsMediaUrl = (options?: ValidationOptions) =>
  ValidateBy(
    {
      name: 'isMediaUrl',
      validator: {
        validate: (value: unknown) => typeof value === 'string' && isMediaUrl(value),
        defaultMessage: (args) => `${args?.property ?? 'value'} must be an http(s) URL`,
      },
    },
    options,
  );

/** On a message's `content`: an http(s) URL when the sibling `type` is `image` or `file`. */
export const IsContentForType = (options?: ValidationOptions) =>
  ValidateBy(
    {
      name: 'isContentForType',
      validator: {
        validate: (value: unknown, args) => {
          const type = (args?.object as { type?: unknown } | undefined)?.type;
          return (type !== 'image' && type !== 'file') || typeof value !== 'string' || isMediaUrl(value);
        },
        defaultMessage: () => `content ${MEDIA_URL_RULE}`,
      },
    },
    options,
  );
