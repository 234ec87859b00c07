import { IncomingMessage, type Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { ErrorCode, type ErrorBody } from './errors';
import {
  afterAnswers,
  CLIENT_ERROR_GRACE_MS,
  EXPECTATION_FAILED,
  REQUEST_TIMEOUT,
  writeErrorBody,
} from './http-client-errors';
import { HTTP_REQUEST_TIMEOUT_MS } from './http-server-limits';

/** Node's test for a 100-continue expectation (lib/_http_server.js). */
const CONTINUE = /(?:^|\W)100-continue(?:$|\W)/i;

/** engine.io's default path, which it matches by prefix as here: its upgrades are its own. */
export const SOCKET_IO_PATH = '/socket.io/';

/**
 * A request carrying `Upgrade` (`curl --http2` on an http:// URL sends `Upgrade: h2c`, and so
 * do HTTP clients that try HTTP/2 first) is not a request to Node once anything listens for
 * 'upgrade': it goes to the 'upgrade' listeners with the bare socket. socket.io listens, for
 * its own path, and engine.io ended every other such connection a second later with nothing
 * written (a hostile-client probe: `GET /health` with `Upgrade: h2c` got an empty reply).
 * RFC 9110 lets a server ignore `Upgrade` and answer as usual, which is what this does
 * outside socket.io's path: the request is rebuilt as a plain one on the same socket and
 * served by the app like any other, its body fed from the socket (Node's parser stopped at
 * the headers), and the connection closed after the answer. A chunked body cannot be framed
 * without the parser: 400 in the API's error shape.
 */
export function serveUpgradeRequests(server: Server): void {
  // Sockets served here are not in Node's list of HTTP connections (it let go of them at the
  // upgrade), so closeAllConnections, which shutdown calls after its grace, did not reach
  // them: one such request held the exit for its whole request timeout (a probe).
  const served = new Set<Socket>();
  const closeAll = server.closeAllConnections.bind(server);
  server.closeAllConnections = () => {
    closeAll();
    for (const socket of served) socket.destroy();
  };
  server.on('upgrade', (upgrade: IncomingMessage, socket: Socket, head: Buffer) => {
    if (upgrade.url?.startsWith(SOCKET_IO_PATH)) return; // engine.io's own
    served.add(socket);
    socket.once('close', () => served.delete(socket));
    socket.on('error', () => socket.destroy());
    // A request pipelined behind this one may still be answering on the socket (Node stopped
    // parsing at the upgrade, the answer did not stop): this one is served after it, as Node
    // serves pipelined requests. Assigning the socket then threw, and the process exited (a probe).
    afterAnswers(socket, () => {
      try {
        serve(server, upgrade, socket, head);
      } catch {
        socket.destroy();
      }
    });
  });
}

function serve(server: Server, upgrade: IncomingMessage, socket: Socket, head: Buffer): void {
  const req = new IncomingMessage(socket);
  Object.assign(req, {
    method: upgrade.method,
    url: upgrade.url,
    headers: upgrade.headers,
    rawHeaders: upgrade.rawHeaders,
    httpVersion: upgrade.httpVersion,
    httpVersionMajor: upgrade.httpVersionMajor,
    httpVersionMinor: upgrade.httpVersionMinor,
  });
  const res = new ServerResponse(req);
  res.shouldKeepAlive = false;
  res.assignSocket(socket);
  // Node's timeouts let go of the socket with the upgrade: the request timeout, as for any
  // request, answered 408 as Node's is (answerClientErrors) unless an answer is under way.
  const deadline = setTimeout(() => {
    if (!res.headersSent) writeErrorBody(res, REQUEST_TIMEOUT);
    setTimeout(() => socket.destroy(), CLIENT_ERROR_GRACE_MS).unref();
  }, HTTP_REQUEST_TIMEOUT_MS).unref();
  socket.once('close', () => clearTimeout(deadline));
  let stopFeeding = (): void => {};
  res.once('finish', () => {
    // The answer is out: what is left of the body is read and dropped, as Node's own server
    // does with a body the app did not read, until the client closes or the deadline.
    // Buffered instead, a client sending a large body to a route that does not read it
    // (GET /health) kept it all in memory for the request timeout (a probe: 2 GB).
    stopFeeding();
    socket.end();
    socket.resume();
  });
  if (upgrade.headers['transfer-encoding'] !== undefined) return refuseChunked(res);
  // Expect, as Node's parser handles it: 100 Continue before the body is read, any other
  // expectation to 'checkExpectation' (answerFailedExpectations: 417).
  const expectation = upgrade.headers.expect;
  if (expectation !== undefined && !CONTINUE.test(expectation)) {
    if (!server.emit('checkExpectation', req, res)) writeErrorBody(res, EXPECTATION_FAILED);
    return;
  }
  stopFeeding = feedBody(req, socket, head, Number(upgrade.headers['content-length'] ?? 0));
  if (expectation !== undefined) res.writeContinue();
  server.emit('request', req, res);
}

/**
 * The body's `length` bytes, from what came with the headers and then from the socket. The
 * request is `complete` once they are in, as Node's parser marks it: a request ending
 * incomplete counts as aborted, and its socket is destroyed before the answer is written.
 * The socket pauses while the request holds a full buffer the app has not read, and
 * IncomingMessage resumes it when the app reads (its _read), as with Node's parser: a
 * route that never reads its body holds at most a buffer of it. Returns a function that
 * stops feeding the request.
 */
function feedBody(req: IncomingMessage, socket: Socket, head: Buffer, length: number): () => void {
  let left = Number.isSafeInteger(length) && length > 0 ? length : 0;
  const end = (): void => {
    req.complete = true;
    req.push(null);
  };
  const feed = (chunk: Buffer): void => {
    const part = chunk.subarray(0, left);
    left -= part.length;
    if (part.length && !req.push(part)) socket.pause();
    if (left === 0) {
      socket.off('data', feed);
      end();
    }
  };
  if (left === 0) end();
  else {
    if (head.length) feed(head);
    if (left > 0) socket.on('data', feed);
  }
  return () => socket.off('data', feed);
}

function refuseChunked(res: ServerResponse): void {
  const body: ErrorBody = {
    statusCode: 400,
    code: ErrorCode.ValidationFailed,
    message: 'A request with an Upgrade header must give its body a Content-Length (or send it without Upgrade)',
  };
  writeErrorBody(res, body);
}
