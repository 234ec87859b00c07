import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

/**
 * How long an HTTP connection may go without reading or writing a byte before it is
 * destroyed. Node's default is none: a connection that sent a request and never reads the
 * answer kept the answer in memory for as long as it stayed open (a probe held 1.4 GB that
 * way for over 300 s), and one that sent nothing held a file descriptor. Every response
 * here is produced at once except socket.io's long-polling GET, which is held until there
 * is something to send: at the latest the ping, every pingInterval (20 s,
 * redis-io.adapter.ts), so 60 s leaves a wide margin. Upgraded (WebSocket) connections are
 * not cut: Node stops listening for the timeout at the upgrade and ws clears the timer
 * (`socket.setTimeout(0)` in WebSocket#setSocket); socket.io pings those itself.
 */
export const HTTP_IDLE_TIMEOUT_MS = 60_000;

/**
 * Requests one connection may have in flight (received, answer not yet written out). A
 * client that pipelines (browsers do not) sends the next request before reading the last
 * answer, and Node parses every request that arrived in one TCP read at once, so its
 * pipelining backpressure never engages: a probe pipelining 10 history pages of 4.85 MB on
 * each of 30 connections, reading none, had them all generated in memory.
 */
export const UNANSWERED_REQUESTS_MAX = 4;

/**
 * Destroys a connection idle for idleMs (see HTTP_IDLE_TIMEOUT_MS). Node arms the socket's
 * timer on each connection and re-arms it after keep-alive waits. Node destroys the socket
 * itself only if no `timeout` listener on the request, the response or the server took the
 * event; this listener destroys it whoever else listens.
 */
export function limitIdleConnections(server: Server, idleMs = HTTP_IDLE_TIMEOUT_MS): void {
  server.timeout = idleMs;
  server.on('timeout', (socket: Socket) => socket.destroy());
}

/**
 * Destroys a connection on which a request arrives while `max` others still wait for their
 * answers to be written (see UNANSWERED_REQUESTS_MAX). It sits in `server.emit`, ahead of
 * every `request` listener, for two reasons: a listener cannot keep the others from
 * running (Express would still build the answers), and engine.io, attaching after this,
 * takes the listeners registered so far and calls them from its own, so a prepended
 * listener is not the first one for its requests. Requests of a connection already
 * destroyed (the rest of a pipelined batch, parsed from the same read) are dropped too.
 * `onCut` is called once per connection destroyed.
 */
export function capUnansweredRequests(server: Server, max = UNANSWERED_REQUESTS_MAX, onCut = () => {}): void {
  const unanswered = new WeakMap<Socket, number>();
  const admit = (req: IncomingMessage, res: ServerResponse): boolean => {
    const socket = req.socket;
    if (socket.destroyed) return false;
    const n = (unanswered.get(socket) ?? 0) + 1;
    if (n > max) {
      socket.destroy();
      onCut();
      return false;
    }
    unanswered.set(socket, n);
    // 'close' comes once the answer is written out, or when the connection goes.
    res.once('close', () => unanswered.set(socket, (unanswered.get(socket) ?? 1) - 1));
    return true;
  };
  const emit = server.emit.bind(server) as (event: string | symbol, ...args: unknown[]) => boolean;
  server.emit = ((event: string | symbol, ...args: unknown[]): boolean => {
    if (event === 'request' && !admit(args[0] as IncomingMessage, args[1] as ServerResponse)) return false;
    return emit(event, ...args);
  }) as Server['emit'];
}

/**
 * Destroys a new connection, before it is read, when its address already has `max` open
 * (HTTP and WebSocket alike): 20,500 idle connections from one address used every file
 * descriptor of the process, and then /health, logins, new sockets and the database pool
 * all failed. Addresses `exempt` says yes to are not counted (see connectionCapExempt).
 * `max` 0: no cap.
 */
export function capConnectionsPerAddress(
  server: Server,
  max: number,
  exempt: (address: string) => boolean,
  onRefused: () => void,
): void {
  if (max <= 0) return;
  const open = new Map<string, number>();
  server.on('connection', (socket: Socket) => {
    const address = socket.remoteAddress;
    if (!address || exempt(address)) return; // no address: the peer has already gone
    const n = (open.get(address) ?? 0) + 1;
    if (n > max) {
      socket.destroy();
      onRefused();
      return;
    }
    open.set(address, n);
    socket.once('close', () => {
      const left = (open.get(address) ?? 1) - 1;
      if (left > 0) open.set(address, left);
      else open.delete(address);
    });
  });
}

/**
 * Which peers the per-address cap leaves alone: those Express's `trust proxy` trusts
 * (`trusted`, Express's compiled 'trust proxy fn'): behind a reverse proxy every client
 * arrives from the proxy's address, and the proxy holds the limits of its clients. Loopback
 * is counted like any address unless TRUST_PROXY names it (`loopback`), as a proxy on the
 * same host needs anyway for the client addresses the throttles count by: a flood from the
 * host itself exhausts the descriptors just as well.
 */
export function connectionCapExempt(trusted: (address: string, hop: number) => boolean): (address: string) => boolean {
  return (address) => trusted(address, 0);
}
