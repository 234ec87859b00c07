import type { Server, Socket } from 'socket.io';
import { ServerEvent } from '../common/constants';
import { ErrorCode } from '../common/errors';
import type { AuthUser } from '../auth/auth.types';
import { answerEvent } from './socket-event-budget';

const EXPIRED = 'The access token expired: log in again';

/** How often this instance looks for sockets whose token has expired. */
export const TOKEN_EXPIRY_SWEEP_MS = 5_000;

/**
 * A socket is honoured only while its access token is: once the token's `exp` has passed,
 * the socket gets an `exception {event: "connection", code: "UNAUTHORIZED"}` and is
 * disconnected (socket.io clients do not reconnect after a server-side disconnect; the
 * client logs in again). One timer walks this instance's sockets, where a timer per socket
 * would cost memory on every idle connection; a walk of 10,000 sockets is a fraction of a
 * millisecond. Revocations, disables and role changes close sockets at once elsewhere
 * (IdentityService, which also re-reads the users behind the sockets on a timer of its own,
 * for changes made in SQL); this covers the token simply running out.
 *
 * Between sweeps, every event checks the token too (`guard`): a socket whose token ran out
 * since the last sweep had up to TOKEN_EXPIRY_SWEEP_MS more of acked sends (a probe saw five
 * in 1.8 s). The event is refused UNAUTHORIZED and the socket closed as a sweep would.
 */
export class TokenExpiry {
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly server: Server) {}

  start(everyMs = TOKEN_EXPIRY_SWEEP_MS): void {
    this.timer = setInterval(() => this.sweep(), everyMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Disconnects the sockets whose token expired by `nowS` (seconds); returns how many. */
  sweep(nowS = Date.now() / 1000): number {
    let closed = 0;
    for (const socket of this.server.sockets.sockets.values()) {
      if (!expired(socket, nowS)) continue;
      expire(socket);
      closed++;
    }
    return closed;
  }

  /**
   * Refuses each event of this socket that arrives after its token expired, then closes it.
   * Installed before the event budget: an event refused here costs the budget nothing.
   */
  guard(socket: Socket, now = Date.now): void {
    socket.use((packet, next) => {
      if (!expired(socket, now() / 1000)) return next();
      answerEvent(socket, packet, { code: ErrorCode.Unauthorized, message: EXPIRED });
      expire(socket);
    });
  }
}

function expired(socket: Socket, nowS: number): boolean {
  const expiresAt = (socket.data as { user?: AuthUser }).user?.expiresAt;
  return expiresAt !== undefined && expiresAt <= nowS;
}

function expire(socket: Socket): void {
  if (socket.disconnected) return;
  socket.emit(ServerEvent.Exception, { event: 'connection', code: ErrorCode.Unauthorized, message: EXPIRED });
  socket.disconnect(true);
}
