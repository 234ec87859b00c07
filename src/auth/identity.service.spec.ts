import type { AppConfig } from '../config/app-config';
import type { PrismaService } from '../prisma/prisma.service';
import type { RedisService } from '../redis/redis.service';
import type { Server } from 'socket.io';
import type { AuthUser } from './auth.types';
import { boundedCache, IdentityService, LIVE_SOCKET_SWEEP_MS, LiveUser } from './identity.service';

/** What the live-user statement returns for user 7 (`rows: []` once deleted). */
const row = (role: 'user' | 'admin') => ({
  rows: [{ id: 7, username: 'u7', role, disabled: false, tokenVersion: 0, keptSessionId: null }],
});

function setup() {
  const lookup = jest.fn();
  const publish = jest.fn().mockResolvedValue(1);
  const prisma = { pool: { query: lookup } } as unknown as PrismaService;
  const redis = { client: { publish, exists: jest.fn().mockResolvedValue(0) }, db: 3 } as unknown as RedisService;
  const config = { identityCacheMs: 5000 } as AppConfig;
  return { identity: new IdentityService(prisma, redis, config), lookup, publish };
}

describe('IdentityService cache', () => {
  it('serves the user from memory until a change is announced, then reads it again', async () => {
    const { identity, lookup, publish } = setup();
    lookup.mockResolvedValueOnce(row('admin')).mockResolvedValueOnce(row('user'));
    expect((await identity.user(7))?.role).toBe('admin');
    expect((await identity.user(7))?.role).toBe('admin');
    expect(lookup).toHaveBeenCalledTimes(1);
    await identity.changed({ userId: 7 });
    expect(publish).toHaveBeenCalledWith('chat:identity-changed#3', JSON.stringify({ userId: 7 }));
    expect((await identity.user(7))?.role).toBe('user');
  });

  it('does not let a read that started before a change refill the cache with the old row', async () => {
    const { identity, lookup } = setup();
    let release!: (v: unknown) => void;
    lookup.mockReturnValueOnce(new Promise((r) => (release = r))).mockResolvedValueOnce(row('user'));
    const slow = identity.user(7);
    await identity.changed({ userId: 7 }); // the demotion lands while the read is in flight
    release(row('admin'));
    expect((await slow)?.role).toBe('admin'); // that caller saw the old row...
    expect((await identity.user(7))?.role).toBe('user'); // ...but nobody after it does
  });

  it('caches a deleted user as absent', async () => {
    const { identity, lookup } = setup();
    lookup.mockResolvedValue({ rows: [] });
    expect(await identity.user(7)).toBeNull();
    expect(await identity.user(7)).toBeNull();
    expect(lookup).toHaveBeenCalledTimes(1);
  });
});

describe('IdentityService socket sweep', () => {
  const live = (id: number, o: Partial<LiveUser> = {}): LiveUser => ({
    id,
    username: `u${id}`,
    role: 'user',
    disabled: false,
    tokenVersion: 0,
    keptSessionId: null,
    ...o,
  });
  /** A connected socket of `user`, as the handshake leaves it (socket.data.user). */
  interface FakeSocket {
    data: { user: AuthUser };
    connected: boolean;
    disconnect: jest.Mock;
  }
  const socket = (user: Partial<AuthUser> & { id: number }): FakeSocket => {
    const s: FakeSocket = {
      data: { user: { username: `u${user.id}`, role: 'user', tokenVersion: 0, ...user } },
      connected: true,
      disconnect: jest.fn(() => (s.connected = false)),
    };
    return s;
  };
  const attach = (identity: IdentityService, sockets: FakeSocket[]) =>
    identity.attach({ of: () => ({ sockets: new Map(sockets.map((s, i) => [String(i), s])) }) } as unknown as Server);

  beforeEach(() => jest.useFakeTimers({ doNotFake: ['nextTick', 'queueMicrotask', 'setImmediate'] }));
  afterEach(() => jest.useRealTimers());

  it('reads every socket user in one statement and drops the deleted, disabled and revoked', async () => {
    const { identity, lookup } = setup();
    const sockets = {
      fine: socket({ id: 1 }),
      fineToo: socket({ id: 1, sessionId: 'other' }),
      deleted: socket({ id: 2 }),
      disabled: socket({ id: 3 }),
      versionMoved: socket({ id: 4, sessionId: 's4' }),
      kept: socket({ id: 5, sessionId: 'k5' }), // the session a password change kept
      notKept: socket({ id: 5, sessionId: 'x5' }),
    };
    attach(identity, Object.values(sockets));
    lookup.mockResolvedValue({
      rows: [
        live(1),
        live(3, { disabled: true }),
        live(4, { tokenVersion: 1 }),
        live(5, { tokenVersion: 2, keptSessionId: 'k5' }),
      ],
    });
    expect(await identity.sweepSockets()).toBe(4);
    expect(lookup).toHaveBeenCalledTimes(1);
    expect(lookup.mock.calls[0][0]).toMatchObject({ values: [[1, 2, 3, 4, 5]] });
    const dropped = Object.entries(sockets).filter(([, s]) => s.disconnect.mock.calls.length > 0);
    expect(dropped.map(([name]) => name)).toEqual(['deleted', 'disabled', 'versionMoved', 'notKept']);
    // The rows read refresh the cache: a reconnect at once meets the disabled user, unread again.
    expect((await identity.user(3))?.disabled).toBe(true);
    expect(await identity.user(2)).toBeNull();
    expect(lookup).toHaveBeenCalledTimes(1);
  });

  it('asks nothing when no socket is connected', async () => {
    const { identity, lookup } = setup();
    attach(identity, []);
    expect(await identity.sweepSockets()).toBe(0);
    expect(lookup).not.toHaveBeenCalled();
  });

  it('runs on a timer that never overlaps a slow sweep and stops at shutdown', async () => {
    const { identity, lookup } = setup();
    const s = socket({ id: 2 });
    attach(identity, [s]);
    let release!: (v: unknown) => void;
    lookup.mockReturnValueOnce(new Promise((r) => (release = r))).mockResolvedValue({ rows: [live(2)] });
    await jest.advanceTimersByTimeAsync(LIVE_SOCKET_SWEEP_MS);
    expect(lookup).toHaveBeenCalledTimes(1);
    await jest.advanceTimersByTimeAsync(LIVE_SOCKET_SWEEP_MS * 4); // still running: no second sweep
    expect(lookup).toHaveBeenCalledTimes(1);
    release({ rows: [] });
    await jest.advanceTimersByTimeAsync(0);
    expect(s.disconnect).toHaveBeenCalledTimes(1);
    await jest.advanceTimersByTimeAsync(LIVE_SOCKET_SWEEP_MS);
    expect(lookup).toHaveBeenCalledTimes(2);
    identity.beforeApplicationShutdown();
    await jest.advanceTimersByTimeAsync(LIVE_SOCKET_SWEEP_MS * 4);
    expect(lookup).toHaveBeenCalledTimes(2);
  });

  it('keeps the sockets and tries again later when the database does not answer', async () => {
    const { identity, lookup } = setup();
    const s = socket({ id: 2 });
    attach(identity, [s]);
    lookup.mockRejectedValueOnce(new Error('connection refused')).mockResolvedValue({ rows: [] });
    await jest.advanceTimersByTimeAsync(LIVE_SOCKET_SWEEP_MS);
    expect(s.disconnect).not.toHaveBeenCalled();
    await jest.advanceTimersByTimeAsync(LIVE_SOCKET_SWEEP_MS);
    expect(s.disconnect).toHaveBeenCalledTimes(1);
    identity.beforeApplicationShutdown();
  });
});

describe('boundedCache', () => {
  it('holds at most its number of entries, dropping the least recently used', () => {
    const cache = boundedCache<number, { n: number }>(3, 60_000);
    for (const n of [1, 2, 3]) cache.set(n, { n });
    cache.get(1); // 2 is now the least recently used
    cache.set(4, { n: 4 });
    expect([...cache.keys()].sort()).toEqual([1, 3, 4]);
    expect(cache.size).toBe(3);
  });

  it('lets an entry go after its ttl', async () => {
    const cache = boundedCache<number, { n: number }>(3, 20);
    cache.set(1, { n: 1 });
    expect(cache.get(1)).toEqual({ n: 1 });
    await new Promise((r) => setTimeout(r, 60));
    expect(cache.get(1)).toBeUndefined();
  });
});
