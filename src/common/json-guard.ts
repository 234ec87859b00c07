import type { ErrorRequestHandler } from 'express';
import { AppError } from './errors';

/**
 * Objects and arrays one JSON text may hold at most. The largest real payloads hold a few:
 * 1,000 message ids are one array, a sync of SYNC_MAX_ROOMS rooms about a hundred objects.
 * Depth needs no limit of its own here: nesting costs what its containers cost, and what is
 * too deep within this many is refused after parsing, naming the field (inspectRawInput).
 */
export const MAX_JSON_CONTAINERS = 2_048;

const OPEN_BRACKET = 0x5b; // [
const OPEN_BRACE = 0x7b; // {
const QUOTE = 0x22; // "
const BACKSLASH = 0x5c; // \

/**
 * Why a JSON text would cost far more to parse than its size says, or undefined. Run before
 * JSON.parse on everything a client sends (REST bodies, socket.io packets): the payload
 * pipe's own depth and size checks (inspectRawInput) run on the parsed value, and a 240 KB
 * `[[[[…` built about 6 MB of arrays first, 9 ms of parsing and 12 ms of garbage collection
 * per request, before authentication (a probe stalled every user for seconds with no token).
 *
 * Linear and allocation-free. Most texts hold few brackets: counted with the native
 * `indexOf` first, and only a text with more than MAX_JSON_CONTAINERS of them, inside strings
 * or not, is walked byte by byte, skipping strings, to count its containers.
 */
export function jsonTooComplex(text: string | Buffer): string | undefined {
  if (bracketsAtMost(text, MAX_JSON_CONTAINERS)) return undefined;
  const bytes = typeof text === 'string' ? undefined : text;
  const str = typeof text === 'string' ? text : undefined;
  let containers = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = bytes ? bytes[i] : str!.charCodeAt(i);
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) {
      inString = true;
    } else if ((c === OPEN_BRACKET || c === OPEN_BRACE) && ++containers > MAX_JSON_CONTAINERS) {
      return `more than ${MAX_JSON_CONTAINERS} objects and arrays`;
    }
  }
  return undefined;
}

/**
 * Stands in for a socket event's arguments that were not parsed (jsonTooComplex): the payload
 * pipe answers it with tooComplexError through the event's acknowledgement. A class, so no
 * client can send one.
 */
export class UnparsedPayload {
  constructor(readonly reason: string) {}
}

/**
 * Stands in for a socket event sent with more than one argument before its acknowledgement
 * (SocketDispatcher): every event takes one payload. A class, so no client can send one.
 */
export class ExtraArguments {
  constructor(readonly count: number) {}
}

/** The refusal of an event sent with ExtraArguments. */
export function extraArgumentsError(count: number): AppError {
  return AppError.validation(`This event takes one payload argument (and an acknowledgement), not ${count}`, [
    { field: '', errors: ['must be a single JSON object argument'] },
  ]);
}

/** The refusal of a text jsonTooComplex named a reason for. */
export function tooComplexError(reason: string): AppError {
  return AppError.validation(`Payload too complex: ${reason}`, [{ field: 'body', errors: [`must not be ${reason}`] }]);
}

/**
 * A JSON body in a charset other than UTF-8: 415, as body-parser answers a charset it cannot
 * decode (its own error shape, so the error filter treats both alike).
 */
export function unsupportedCharset(charset: string): Error {
  return Object.assign(new Error(`unsupported charset "${charset.toUpperCase()}"`), {
    status: 415,
    statusCode: 415,
    type: 'charset.unsupported',
    charset,
  });
}

/** True when `text` holds at most `max` opening brackets (inside strings or not): native searches, no walk. */
function bracketsAtMost(text: string | Buffer, max: number): boolean {
  const find =
    typeof text === 'string'
      ? (open: number, from: number) => text.indexOf(open === OPEN_BRACKET ? '[' : '{', from)
      : (open: number, from: number) => text.indexOf(open, from);
  let n = 0;
  for (const open of [OPEN_BRACKET, OPEN_BRACE]) {
    for (let i = find(open, 0); i !== -1; i = find(open, i + 1)) if (++n > max) return false;
  }
  return true;
}

/** A body (or socket payload) that is JSON but not an object where the API takes one. */
export const notAnObject = (): AppError =>
  AppError.validation('The payload must be a JSON object', [{ field: '', errors: ['must be an object'] }]);

/**
 * body-parser's refusals of a body it could not parse carried JSON.parse's own message, and
 * in strict mode it refuses a top level that is not an object or array with a message made
 * to look like JSON.parse's: `null` got "Unexpected token 'n', "null" is not valid JSON",
 * about valid JSON (a hostile-client probe). A body that does not decompress as its
 * Content-Encoding says carried zlib's "incorrect header check" (another probe). Those say
 * what the API wants instead; any other error goes on as it was.
 */
export const explainJsonErrors: ErrorRequestHandler = (err: unknown, req, _res, next) => {
  const e = err as { type?: unknown; body?: unknown; errno?: unknown } | null;
  // zlib's refusal of a body its Content-Encoding does not match ("incorrect header check",
  // "Decompression failed"): body-parser passes those on untyped, with zlib's errno.
  const encoding = req.headers['content-encoding'];
  if (e?.type === undefined && typeof e?.errno === 'number' && encoding !== undefined) {
    return next(
      AppError.validation(`The body is not valid ${encoding} (Content-Encoding)`, [
        { field: 'body', errors: [`must be ${encoding}-encoded as Content-Encoding says`] },
      ]),
    );
  }
  if (e?.type !== 'entity.parse.failed') return next(err);
  const text = typeof e.body === 'string' ? e.body.trimStart() : '';
  const container = text === '' || text.startsWith('{') || text.startsWith('[');
  next(
    container
      ? AppError.validation('The body is not valid JSON', [{ field: 'body', errors: ['must be valid JSON'] }])
      : notAnObject(),
  );
};
