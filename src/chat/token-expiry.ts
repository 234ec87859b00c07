import type { Server } from 'socket.io';
import { ServerEvent } from '../common/constants';
import { ErrorCode } from '../common/errors';
import type { AuthUser } from '../auth/auth.types';

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
      const expiresAt = (socket.data as { user?: AuthUser }).user?.expiresAt;
      if (expiresAt === undefined || expiresAt > nowS) continue;
      socket.emit(ServerEvent.Exception, {
        event: 'connection',
        code: ErrorCode.Unauthorized,
        message: 'The access token expired: log in again',
      });
      socket.disconnect(true);
      closed++;
    }
    return closed;
  }
}
