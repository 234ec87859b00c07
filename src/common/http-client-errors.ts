import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { ErrorCode, type ErrorBody } from './errors';

/** Node's parser error codes that have a status of their own; any other parse error is 400. */
interface ParseErrorAnswer {
  status: number;
  reason: string;
  code: ErrorCode;
  message: string;
}

const STATUS_OF_PARSE_ERROR: Record<string, ParseErrorAnswer> = {
  HPE_HEADER_OVERFLOW: {
    status: 431,
    reason: 'Request Header Fields Too Large',
    code: ErrorCode.PayloadTooLarge,
    message: 'The request headers are too large',
  },
  HPE_CHUNK_EXTENSIONS_OVERFLOW: {
    status: 413,
    reason: 'Payload Too Large',
    code: ErrorCode.PayloadTooLarge,
    message: 'The chunk extensions are too large',
  },
  ERR_HTTP_REQUEST_TIMEOUT: {
    status: 408,
    reason: 'Request Timeout',
    code: ErrorCode.ValidationFailed,
    message: 'The request did not arrive in time',
  },
};
/**
 * How long the error answer has to reach the peer before the connection is destroyed.
 * end() alone sends it and a FIN, then (HTTP servers allow half-open connections) waits
 * for the peer's FIN: a peer that never reads nor closes kept the file descriptor forever
 * (20,500 such connections from one address used them all). Destroying at once could
 * reset the connection before the peer read its answer.
 */
export const CLIENT_ERROR_GRACE_MS = 1000;

const MALFORMED: ParseErrorAnswer = {
  status: 400,
  reason: 'Bad Request',
  code: ErrorCode.ValidationFailed,
  message: 'Malformed HTTP request',
};

/**
 * Requests Node's HTTP parser refuses (headers over 16 KiB, a broken request line, bad
 * chunking) never reach Express: Node answers them itself with a bare status line and no
 * body. Here they get the contract's error body like every other refusal, so a client can
 * tell `PAYLOAD_TOO_LARGE` from a dropped connection. The connection is closed after (the
 * parser cannot tell where the next request would start), and destroyed CLIENT_ERROR_GRACE_MS
 * later if the peer has not closed it by then.
 */
export function answerClientErrors(server: Server): void {
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    // As Node's own handler: nothing for a peer that went away.
    if (err.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    // A request before the malformed one (pipelined in the same write) may still be
    // answering: its answer goes out first, then this one. Written at once, the 400 ended
    // the connection and the client lost the first answer, though its request ran (a probe:
    // a room created, the client told only 400, so it would create it again).
    afterAnswers(socket, () => {
      const e = STATUS_OF_PARSE_ERROR[err.code ?? ''] ?? MALFORMED;
      endWithError(socket, e.reason, { statusCode: e.status, code: e.code, message: e.message });
    });
  });
}

/**
 * CONNECT (a proxy's method): with nothing listening for it, Node destroyed the connection
 * without a word. 405 in the error shape, and the connection closed.
 */
export function answerConnectRequests(server: Server): void {
  server.on('connect', (_req: IncomingMessage, socket: Duplex) => {
    socket.on('error', () => socket.destroy());
    endWithError(
      socket,
      'Method Not Allowed',
      { statusCode: 405, code: ErrorCode.ValidationFailed, message: 'CONNECT is not served here: this is not a proxy' },
      { Allow: 'GET, HEAD, POST, PATCH, PUT, DELETE, OPTIONS' },
    );
  });
}

/**
 * Writes an error answer straight to the socket and closes it, destroying it
 * CLIENT_ERROR_GRACE_MS later if the peer has not closed it by then.
 */
export function endWithError(
  socket: Duplex,
  reason: string,
  body: ErrorBody,
  headers: Record<string, string> = {},
): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  socket.end(rawErrorAnswer(reason, body, headers));
  const drop = setTimeout(() => socket.destroy(), CLIENT_ERROR_GRACE_MS).unref();
  socket.once('close', () => clearTimeout(drop));
}

/** A whole error answer, for a socket that has no ServerResponse; it closes the connection. */
export function rawErrorAnswer(reason: string, body: ErrorBody, headers: Record<string, string> = {}): string {
  const json = JSON.stringify(body);
  const extra = Object.entries(headers)
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('');
  return (
    `HTTP/1.1 ${body.statusCode} ${reason}\r\n${extra}Content-Type: application/json; charset=utf-8\r\n` +
    `Content-Length: ${Buffer.byteLength(json)}\r\nConnection: close\r\n\r\n${json}`
  );
}

/**
 * `fn` once no answer is being written on the socket: at once if none is, never if the
 * connection closes first.
 */
export function afterAnswers(socket: Duplex, fn: () => void): void {
  if (socket.destroyed) return;
  const current = (socket as { _httpMessage?: ServerResponse | null })._httpMessage;
  if (!current || current.writableFinished) {
    fn();
    return;
  }
  // 'close' follows 'finish', or comes when the answer was cut short: look again then.
  current.once('close', () => setImmediate(() => afterAnswers(socket, fn)));
}

/** The answer to a request whose `Expect` is not `100-continue`. */
export const EXPECTATION_FAILED: ErrorBody = {
  statusCode: 417,
  code: ErrorCode.ValidationFailed,
  message: 'Only "Expect: 100-continue" is supported: send the request without this Expect header',
};

/** The answer to a request that did not arrive within the request timeout. */
export const REQUEST_TIMEOUT: ErrorBody = {
  statusCode: 408,
  code: STATUS_OF_PARSE_ERROR.ERR_HTTP_REQUEST_TIMEOUT.code,
  message: STATUS_OF_PARSE_ERROR.ERR_HTTP_REQUEST_TIMEOUT.message,
};

/**
 * A request whose `Expect` is not `100-continue`: Node answered 417 itself, with no body.
 * Here 417 with the contract's error body, and the connection closed after it.
 */
export function answerFailedExpectations(server: Server): void {
  server.on('checkExpectation', (_req: IncomingMessage, res: ServerResponse) => {
    res.shouldKeepAlive = false;
    writeErrorBody(res, EXPECTATION_FAILED);
  });
}

/** An error body as the answer, on a response Express does not handle (Node's or engine.io's). */
export function writeErrorBody(res: ServerResponse, body: ErrorBody, headers: Record<string, string> = {}): void {
  const json = JSON.stringify(body);
  res.writeHead(body.statusCode, {
    ...headers,
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(json),
  });
  res.end(json);
}
