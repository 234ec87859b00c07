import { Logger } from '@nestjs/common';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { capUnansweredRequests, limitIdleConnections } from './http-connections';

/**
 * How long a client may take to send one whole request (headers and body). Node's default
 * is 300 s, sized for uploads; here a body is at most the 256 KiB JSON limit and there are
 * no uploads, so a request still arriving after 30 s is a stalled or hostile client, and it
 * gets 408 (answerClientErrors). Only receiving the request counts: once it has arrived,
 * Node stops timing it, so a socket.io long-polling GET held open for its answer is not
 * cut. Node checks these limits every 30 s (connectionsCheckingInterval), so the 408 comes
 * 30 to 60 s after the request began.
 */
export const HTTP_REQUEST_TIMEOUT_MS = 30_000;

/** How long the request line and headers may take; Node requires it <= the request timeout. */
export const HTTP_HEADERS_TIMEOUT_MS = 20_000;

/**
 * How long requests still in flight when the HTTP server closes (at shutdown, once the send
 * path has drained and the persistence worker has stopped) may take to finish before their
 * connections are dropped. With the 15 s the worker may take, it fits docker compose's 30 s
 * stop_grace_period.
 */
export const HTTP_CLOSE_GRACE_MS = 10_000;

/**
 * The timeouts above, an idle timeout and a cap on pipelined requests per connection
 * (http-connections.ts; `onPipelineCut` counts the connections it destroys), and a close()
 * that always ends (see closeWithDeadline).
 */
export function limitHttpServer(server: Server, onPipelineCut?: () => void): void {
  server.requestTimeout = HTTP_REQUEST_TIMEOUT_MS;
  server.headersTimeout = HTTP_HEADERS_TIMEOUT_MS;
  limitIdleConnections(server);
  capUnansweredRequests(server, undefined, onPipelineCut);
  closeWithDeadline(server, HTTP_CLOSE_GRACE_MS);
}

/**
 * Node's server.close() stops accepting, closes idle keep-alive connections, then waits
 * for every other connection to end, and while it waits it no longer enforces the request
 * timeout. socket.io's close and Nest's both wait for it, so one client that sent half a
 * body and went quiet kept the process from ever exiting after SIGTERM. Here the requests
 * in flight get graceMs from the first close() to finish, and their answers say
 * `Connection: close` (a kept-alive connection held the exit for Node's keep-alive timeout
 * after its answer); then every HTTP connection left is dropped. Upgraded (WebSocket)
 * connections are not HTTP connections any more: socket.io closes those.
 */
export function closeWithDeadline(server: Server, graceMs: number): void {
  const unanswered = new Set<ServerResponse>();
  let closing = false;
  // Before Express's listener, which may answer at once. (engine.io, attached later, calls the
  // listeners it found from its own for paths not its own, so socket.io's long polls pass
  // by this one: socket.io closes those itself at shutdown.)
  server.prependListener('request', (_req: IncomingMessage, res: ServerResponse) => {
    if (closing) {
      res.shouldKeepAlive = false;
      return;
    }
    unanswered.add(res);
    res.once('close', () => unanswered.delete(res));
  });
  const close = server.close.bind(server);
  let deadline: NodeJS.Timeout | undefined;
  server.close = (callback?: (err?: Error) => void) => {
    closing = true;
    for (const res of unanswered) if (!res.headersSent) res.shouldKeepAlive = false;
    deadline ??= setTimeout(() => {
      new Logger('Http').warn(`dropping the HTTP connections still open ${graceMs} ms after the server closed`);
      server.closeAllConnections();
    }, graceMs).unref();
    return close(callback);
  };
  server.once('close', () => clearTimeout(deadline));
}
