import type { AppConfig } from '../config/app-config';
import type { PrismaService } from '../prisma/prisma.service';
import type { RedisService } from '../redis/redis.service';
import { boundedCache, IdentityService } from './identity.service';

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
