import { Server, type Socket } from 'socket.io';
import { BUCKETS_KEPT_MS, TOO_MANY_CONNECTIONS, TooManyConnections, UserSockets } from './user-sockets';

/** Sockets of a server's in-memory adapter (no HTTP server): they join and leave as socket.io's own do. */
function setup(max: number, now: () => number = Date.now) {
  const server = new Server();
  const adapter = server.sockets.adapter;
  const users = new UserSockets(max, now);
  users.attach(server);
  let n = 0;
  const socket = () => {
    const id = `s${++n}`;
    return {
      id,
      join: (room: string) => adapter.addAll(id, new Set([room])),
      gone: () => adapter.delAll(id),
    } as unknown as Socket & { gone: () => void };
  };
  return { adapter, users, socket };
}

describe('UserSockets', () => {
  it("admits up to `max` sockets of a user, each joined to the user's channel, then refuses", () => {
    const { adapter, users, socket } = setup(2);
    const [a, b, c] = [socket(), socket(), socket()];
    const first = users.admit(a, 7);
    expect(users.admit(b, 7).buckets).toBe(first.buckets); // one budget for the user's sockets
    expect(adapter.rooms.get('user:7')).toEqual(new Set([a.id, b.id]));
    expect(() => users.admit(c, 7)).toThrow(TooManyConnections);
    expect(() => users.admit(c, 7)).toThrow(TOO_MANY_CONNECTIONS);
    expect(adapter.rooms.get('user:7')?.size).toBe(2);
    // Another user is counted apart.
    expect(users.admit(c, 8).buckets).not.toBe(first.buckets);
  });

  it('tells the client why in connect_error data', () => {
    const err = new TooManyConnections(20);
    expect({ message: err.message, data: err.data }).toEqual({
      message: 'too many connections',
      data: { code: 'RATE_LIMITED', details: { max: 20 } },
    });
  });

  it("frees a place when a socket leaves, and keeps the user's buckets BUCKETS_KEPT_MS after its last socket", () => {
    let clock = 1_000_000;
    const { users, socket } = setup(2, () => clock);
    const [a, b, c] = [socket(), socket(), socket()];
    const { buckets } = users.admit(a, 7);
    users.admit(b, 7);
    a.gone(); // a disconnect, or a handshake that failed after admit: socket.io leaves every room
    expect(users.admit(c, 7).buckets).toBe(buckets);
    b.gone();
    c.gone();
    expect(users.users).toBe(0);
    // Back soon (a client cut for flooding): the same buckets, debt and all.
    clock += BUCKETS_KEPT_MS - 1;
    const again = socket();
    expect(users.admit(again, 7).buckets).toBe(buckets);
    again.gone();
    // Back later: fresh ones; the old ones went when another user's last socket left.
    const other = socket();
    const otherBuckets = users.admit(other, 8).buckets;
    clock += BUCKETS_KEPT_MS;
    other.gone();
    expect(users.admit(socket(), 7).buckets).not.toBe(buckets);
    expect(users.admit(socket(), 8).buckets).toBe(otherBuckets);
  });
});
