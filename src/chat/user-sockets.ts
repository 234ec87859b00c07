import { TOO_MANY_CONNECTIONS_HANDSHAKE } from '@chat-backend/protocol';
import type { Server, Socket } from 'socket.io';
import { userChannel } from '../common/constants';
import { ErrorCode } from '../common/errors';
import type { Buckets } from './socket-event-budget';

/** The `connect_error` message of a handshake refused by SOCKETS_PER_USER_MAX (the protocol's). */
export const TOO_MANY_CONNECTIONS = TOO_MANY_CONNECTIONS_HANDSHAKE;

/**
 * The handshake's refusal when the user has SOCKETS_PER_USER_MAX sockets here already.
 * socket.io sends `data` along with the message: `connect_error` `err.data`.
 */
export class TooManyConnections extends Error {
  readonly data: { code: ErrorCode; details: { max: number } };

  constructor(max: number) {
    super(TOO_MANY_CONNECTIONS);
    this.data = { code: ErrorCode.RateLimited, details: { max } };
  }
}

/**
 * How long a user's shared buckets outlive their last socket here. Their debt is only what
 * has not refilled since, so keeping them longer costs nothing but memory; dropped at once,
 * a client cut for flooding (socket-event-budget.ts) reconnected to a fresh budget, and
 * bought a thousand refused sends per handshake.
 */
export const BUCKETS_KEPT_MS = 60_000;

/**
 * A user's sockets on this instance: at most `max` of them, and the event buckets they share
 * (socket-event-budget.ts), so that N sockets do not get N times a user's budget.
 *
 * Counted by socket.io itself: a socket is in `user:<id>` from the moment its token checked
 * out (admit) until it is gone, and socket.io's cleanup leaves every room whether the socket
 * disconnects, its handshake fails later, or its client hangs up mid-handshake. So the cap
 * reads the size of that room: no count of our own that a failure path could leak. The
 * shared buckets move aside when the room is deleted (the user's last socket left) and come
 * back with the user's next socket within BUCKETS_KEPT_MS; older ones are dropped as others
 * move aside (oldest first, in the map's insertion order), so no timer.
 */
export class UserSockets {
  /** By channel name (`user:<id>`), as the adapter names the room it deletes. */
  private readonly shared = new Map<string, Buckets>();
  /** Buckets of users with no socket here, and when their last one left. */
  private readonly resting = new Map<string, { buckets: Buckets; at: number }>();
  private rooms: Map<string, Set<string>> | undefined;

  constructor(
    private readonly max: number,
    private readonly now: () => number = Date.now,
  ) {}

  attach(server: Server): void {
    const adapter = server.sockets.adapter;
    this.rooms = adapter.rooms;
    adapter.on('delete-room', (room: string) => this.rest(room));
  }

  /**
   * Joins the socket to its user's channel and returns the buckets the user's sockets share,
   * or throws TooManyConnections. Checked and joined in one synchronous step (the adapter
   * adds to the room at once; `joined` is what a cluster adapter still waits for), so
   * handshakes running at once cannot all slip in under the cap.
   */
  admit(socket: Socket, userId: number): { joined: Promise<void> | void; buckets: Buckets } {
    const channel = userChannel(userId);
    if ((this.rooms?.get(channel)?.size ?? 0) >= this.max) throw new TooManyConnections(this.max);
    const joined = socket.join(channel);
    let buckets = this.shared.get(channel);
    if (!buckets) {
      buckets = this.resting.get(channel)?.buckets ?? {};
      this.resting.delete(channel);
      this.shared.set(channel, buckets);
    }
    return { joined, buckets };
  }

  private rest(channel: string): void {
    const buckets = this.shared.get(channel);
    if (!buckets) return; // not a user's channel
    this.shared.delete(channel);
    const t = this.now();
    for (const [old, { at }] of this.resting) {
      if (t - at < BUCKETS_KEPT_MS) break;
      this.resting.delete(old);
    }
    this.resting.set(channel, { buckets, at: t });
  }

  /** Users with sockets here (tests). */
  get users(): number {
    return this.shared.size;
  }
}
