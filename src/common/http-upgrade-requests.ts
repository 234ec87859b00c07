import { IncomingMessage, type Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { ErrorCode, type ErrorBody } from './errors';
import { writeErrorBody } from './http-client-errors';
import { HTTP_REQUEST_TIMEOUT_MS } from './http-server-limits';

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
  server.on('upgrade', (upgrade: IncomingMessage, socket: Socket, head: Buffer) => {
    if (upgrade.url?.startsWith(SOCKET_IO_PATH)) return; // engine.io's own
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
    // Node's timeouts let go of the socket with the upgrade: the request timeout, as for any request.
    const deadline = setTimeout(() => socket.destroy(), HTTP_REQUEST_TIMEOUT_MS).unref();
    res.once('finish', () => socket.end());
    socket.once('close', () => clearTimeout(deadline));
    socket.on('error', () => socket.destroy());
    if (upgrade.headers['transfer-encoding'] !== undefined) return refuseChunked(res);
    feedBody(req, socket, head, Number(upgrade.headers['content-length'] ?? 0));
    server.emit('request', req, res);
  });
}

/**
 * The body's `length` bytes, from what came with the headers and then from the socket. The
 * request is `complete` once they are in, as Node's parser marks it: a request ending
 * incomplete counts as aborted, and its socket is destroyed before the answer is written.
 */
function feedBody(req: IncomingMessage, socket: Socket, head: Buffer, length: number): void {
  let left = Number.isSafeInteger(length) && length > 0 ? length : 0;
  const end = (): void => {
    req.complete = true;
    req.push(null);
  };
  const feed = (chunk: Buffer): void => {
    const part = chunk.subarray(0, left);
    left -= part.length;
    if (part.length) req.push(part);
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
}

function refuseChunked(res: ServerResponse): void {
  const body: ErrorBody = {
    statusCode: 400,
    code: ErrorCode.ValidationFailed,
    message: 'A request with an Upgrade header must give its body a Content-Length (or send it without Upgrade)',
  };
  writeErrorBody(res, body);
}
