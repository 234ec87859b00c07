import { HttpException, HttpStatus, Logger } from '@nestjs/common';
import { type IncomingMessage, type ServerResponse, STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { toErrorBody } from '../common/errors';
import { endWithError, rawErrorAnswer, writeErrorBody } from '../common/http-client-errors';
import { PollingAnswers } from './polling-answers';

/**
 * The methods engine.io serves: GET (handshake, poll), POST (the client's packets), OPTIONS
 * (the CORS preflight, answered by engine.io's cors middleware).
 */
const ALLOWED_METHODS = ['GET', 'POST', 'OPTIONS'];
const ALLOW = ALLOWED_METHODS.join(', ');

/** What this file needs of an engine.io session (not in engine.io's types). */
interface EngineSession {
  transport: { name: string };
  once(event: 'close', listener: () => void): unknown;
  close(discard: boolean): void;
}

/** What this file needs of engine.io's server: `clients` is not in its types. */
interface Engine {
  clients: Record<string, EngineSession | undefined>;
  handleRequest(req: IncomingMessage, res: ServerResponse): void;
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  /** Sets `req._query` as engine.io reads the query, unless set already. */
  prepare(req: IncomingMessage): void;
  on(event: 'connection_error', listener: (e: { req: IncomingMessage; code: number }) => void): unknown;
}

/** engine.io's error code for a request its `allowRequest` refused (Server.errors.FORBIDDEN). */
const ENGINE_FORBIDDEN = 4;

/**
 * Every HTTP request engine.io would serve passes here first (`attach` routes them through
 * the engine's handleRequest; its `use()` middlewares run later, after the CORS one, and
 * asynchronously). Two things no engine.io option covers:
 *
 * - A method engine.io does not serve: on a polling session its transport answered a bare
 *   500 (a server error in every dashboard, and no body saying why); here 405 with `Allow`
 *   and the API's error body.
 * - A poll: its connection is recorded with the session (PollingAnswers), and a client
 *   asking again while an earlier answer of its session is still in the process (unread)
 *   has its session cut at once. `onCut` runs once per session cut.
 *
 * And every WebSocket upgrade engine.io takes: its refusal, written raw on the socket by
 * engine.io or ws, gets the API's error body too (upgradeRefusalInApiShape).
 */
export function guardEngineRequests(engine: Pick<Engine, 'handleRequest' | 'handleUpgrade'>, onCut: () => void): void {
  const { clients } = engine as Engine;
  const logger = new Logger('EngineRequests');
  /**
   * The query exactly as engine.io reads it (a WHATWG URL: no fragment, the last of a repeated
   * name): read any other way, `?sid=abc#x` named no session here and session abc there, and
   * `?transport=websocket#&EIO=4` passed the protocol check below and failed engine.io's.
   */
  const queryOf = (req: IncomingMessage): Record<string, string | undefined> => {
    (engine as Engine).prepare(req);
    return (req as IncomingMessage & { _query?: Record<string, string> })._query ?? {};
  };
  const handle = engine.handleRequest.bind(engine);
  engine.handleRequest = (req: IncomingMessage, res: ServerResponse) => {
    if (!ALLOWED_METHODS.includes(req.method ?? '')) return refuseMethod(req, res);
    const session = req.method === 'GET' ? clients[queryOf(req).sid ?? ''] : undefined;
    if (session?.transport.name === 'polling') {
      const answers = PollingAnswers.for(session);
      if (!answers.admit(req.socket, res)) {
        logger.warn(`a polling client asked again without reading its previous answer: session cut`);
        answers.resetAll();
        req.socket.resetAndDestroy();
        session.close(true);
        onCut();
        return;
      }
    }
    inApiShape(res);
    handle(req, res);
  };
  // engine.io answers every refused upgrade 400, where it answers the same refusal of a
  // polling request 403 when its `allowRequest` refused it (the connection caps): its event,
  // just before the answer is written, says which.
  const forbidden = new WeakSet<IncomingMessage>();
  (engine as Engine).on('connection_error', ({ req, code }) => {
    if (code === ENGINE_FORBIDDEN) forbidden.add(req);
  });
  const upgrade = (engine as Engine).handleUpgrade.bind(engine);
  (engine as Engine).handleUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    upgradeRefusalInApiShape(socket, () => (forbidden.has(req) ? 403 : undefined));
    // engine.io checks a new session's protocol version only after the WebSocket handshake,
    // then writes its raw 400 into the WebSocket stream, which clients read as a broken frame.
    const query = queryOf(req);
    if (!query.sid && query.EIO !== '4') return refuseUpgrade(socket, 400, 'Unsupported protocol version');
    upgrade(req, socket, head);
  };
}

/**
 * A WebSocket upgrade that engine.io refuses (an unknown session or transport, an old
 * protocol) or that ws refuses (no valid Sec-WebSocket-Key, an unsupported version) is
 * answered by writing a raw `text/html` response on the socket, its reason as the body.
 * That response is rewritten into the API's error shape, as inApiShape does for polling.
 * Only the socket's first write is looked at: a handshake that succeeds writes its 101 first
 * and frames after it, and those pass untouched.
 */
function upgradeRefusalInApiShape(socket: Duplex, statusOf: () => number | undefined): void {
  const own = {
    write: Object.getOwnPropertyDescriptor(socket, 'write'),
    end: Object.getOwnPropertyDescriptor(socket, 'end'),
  };
  const write = socket.write.bind(socket) as (...args: unknown[]) => boolean;
  const end = socket.end.bind(socket) as (...args: unknown[]) => Duplex;
  const restore = () => {
    for (const name of ['write', 'end'] as const) {
      const descriptor = own[name];
      if (descriptor) Object.defineProperty(socket, name, descriptor);
      else delete (socket as Partial<Duplex>)[name];
    }
  };
  socket.write = ((chunk: unknown, ...rest: unknown[]) => {
    restore();
    return write(rawRefusalInApiShape(chunk, statusOf()), ...rest);
  }) as Duplex['write'];
  socket.end = ((chunk?: unknown, ...rest: unknown[]) => {
    restore();
    return end(rawRefusalInApiShape(chunk, statusOf()), ...rest);
  }) as Duplex['end'];
}

/** `HTTP/1.1 4xx …`, its headers, a blank line, the body. */
const RAW_REFUSAL = /^HTTP\/1\.1 (4\d\d) [^\r\n]*\r\n((?:[^\r\n]+\r\n)*)\r\n([^]*)$/;

/**
 * A raw `text/html` refusal with the API's error body, in its own status or in `status` when
 * given; anything else as it is.
 */
function rawRefusalInApiShape(chunk: unknown, status?: number): unknown {
  if (typeof chunk !== 'string') return chunk;
  const refusal = RAW_REFUSAL.exec(chunk);
  if (!refusal || !/^content-type: *text\/html/im.test(refusal[2])) return chunk;
  status ??= Number(refusal[1]);
  // The library's own headers stay (ws names the versions it speaks); the answer sets its own
  // content type, length and Connection: close.
  const kept: Record<string, string> = {};
  for (const line of refusal[2].split('\r\n')) {
    const colon = line.indexOf(':');
    const name = line.slice(0, colon);
    if (colon > 0 && !/^(content-type|content-length|connection)$/i.test(name))
      kept[name] = line.slice(colon + 1).trim();
  }
  return rawErrorAnswer(
    STATUS_CODES[status] ?? '',
    errorBody(status, refusal[3] || (STATUS_CODES[status] ?? '')),
    kept,
  );
}

function errorBody(status: number, message: string) {
  return toErrorBody(new HttpException(message, status));
}

function refuseUpgrade(socket: Duplex, status: number, message: string): void {
  endWithError(socket, STATUS_CODES[status] ?? '', errorBody(status, message));
}

/**
 * engine.io refuses a request it cannot serve (an unknown session or transport, a bad
 * handshake, an unsupported protocol version, a refused origin) with 400 or 403 and a body of
 * its own, `{code: <number>, message}`. The client libraries read only the status; everyone
 * else reads the API's `{statusCode, code, message}`, so the body is rewritten into it, with
 * engine.io's message. Only a refusal's JSON is touched: polling answers are never 400/403.
 */
function inApiShape(res: ServerResponse): void {
  const end = res.end.bind(res) as (...args: unknown[]) => ServerResponse;
  res.end = ((chunk?: unknown, ...rest: unknown[]) => {
    const status = res.statusCode;
    if ((status === 400 || status === 403) && typeof chunk === 'string') {
      const refusal = engineRefusal(chunk);
      if (refusal) {
        const body = toErrorBody(new HttpException(refusal, status));
        return end(JSON.stringify(body), ...rest);
      }
    }
    return end(chunk, ...rest);
  }) as ServerResponse['end'];
}

/** engine.io's refusal message, from its body `{"code":<number>,"message":"…"}`; else undefined. */
function engineRefusal(body: string): string | undefined {
  if (!body.startsWith('{"code":')) return undefined;
  try {
    const parsed = JSON.parse(body) as { code?: unknown; message?: unknown };
    return typeof parsed.code === 'number' && typeof parsed.message === 'string' ? parsed.message : undefined;
  } catch {
    return undefined;
  }
}

function refuseMethod(req: IncomingMessage, res: ServerResponse): void {
  const body = toErrorBody(
    new HttpException(`${req.method} is not served here; long-polling uses ${ALLOW}`, HttpStatus.METHOD_NOT_ALLOWED),
  );
  writeErrorBody(res, body, { Allow: ALLOW });
}
