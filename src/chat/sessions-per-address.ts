import type { ServerOptions } from 'socket.io';

/** What this file needs of engine.io's server and its sessions. */
interface Engine {
  on(event: 'connection', listener: (session: EngineSession) => void): unknown;
}
interface EngineSession {
  /** Read from the handshake's connection when the session is made (the request may go later). */
  remoteAddress?: string;
  once(event: 'close', listener: () => void): unknown;
}

/**
 * engine.io sessions per client address, at most `max` (CONNECTIONS_PER_ADDRESS_MAX; 0: no
 * cap). The connection cap counts TCP connections, but over HTTP long-polling every
 * handshake opens a session on whatever connection the client keeps alive: a probe without
 * any token opened 417,696 sessions in 60 s over three connections, none of them ever
 * sending CONNECT, each 6–7 KB held until socket.io's connect timeout, and the server grew
 * from 227 MB to 2.4 GB while other users' acks waited up to 0.9 s. A handshake past the cap
 * is refused (engine.io's 403, with the reason) before a session is made, and `onRefused`
 * counts it. A WebSocket client holds one connection and one session, each counted in its own
 * cap. Addresses `exempt` says yes to (a trusted proxy's) are not counted, as for the
 * connection cap.
 *
 * Returns the `allowRequest` to give socket.io, wrapping `inner` (which runs for handshakes
 * within the cap); `watch` starts counting the engine's sessions once the server exists.
 */
export function capSessionsPerAddress(
  max: number,
  exempt: (address: string) => boolean,
  onRefused: () => void,
  inner?: ServerOptions['allowRequest'],
): { allowRequest: ServerOptions['allowRequest']; watch(engine: unknown): void } {
  if (max <= 0) return { allowRequest: inner, watch: () => undefined };
  const open = new Map<string, number>();
  const counted = (address: string | undefined): address is string => !!address && !exempt(address);
  return {
    allowRequest: (req, callback) => {
      const address = req.socket.remoteAddress;
      if (counted(address) && (open.get(address) ?? 0) >= max) {
        onRefused();
        callback('too many socket.io sessions from this address', false);
        return;
      }
      if (inner) inner(req, callback);
      else callback(null, true);
    },
    watch: (engine) =>
      (engine as Engine).on('connection', (session) => {
        const address = session.remoteAddress;
        if (!counted(address)) return;
        open.set(address, (open.get(address) ?? 0) + 1);
        session.once('close', () => {
          const left = (open.get(address) ?? 1) - 1;
          if (left > 0) open.set(address, left);
          else open.delete(address);
        });
      }),
  };
}
