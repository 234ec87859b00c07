import Redis from 'ioredis';
import { RedisScript } from '../redis/redis-script';
import type { RedisClient } from '../redis/redis.service';
import { TurnPipeline } from '../redis/turn-pipeline';

type Arg = string | number;

/**
 * A cluster-wide count of one user's sockets somewhere (online at all, or in one room's
 * broadcast), kept in one Redis hash per key: `n` (sockets) and `g` (until when a count
 * that dropped to zero is still "in grace").
 *
 * Arrivals and departures are announced only on real changes: the first socket arriving
 * when the user was not in grace, and a count that stayed at zero for the whole grace
 * period. A reconnect (network blip, page reload, a server restart that drops every socket
 * at once) therefore announces nothing, where announcing every 0 → 1 made N members of a
 * room reconnecting cost N² events. Each key is touched alone, so every script holds one
 * key (Redis Cluster can place it anywhere).
 */
const ENTER = new RedisScript<'key', [now: number, ttlS: number], 0 | 1>(
  'chatCounterEnter',
  ['key'],
  `
local n = redis.call('HINCRBY', KEYS[1], 'n', 1)
if n < 1 then n = 1; redis.call('HSET', KEYS[1], 'n', 1) end
local g = tonumber(redis.call('HGET', KEYS[1], 'g') or '0')
redis.call('HDEL', KEYS[1], 'g')
redis.call('EXPIRE', KEYS[1], ARGV[2])
if n == 1 and g < tonumber(ARGV[1]) then return 1 end
return 0`,
);

const EXIT = new RedisScript<'key', [graceUntil: number, ttlS: number], 0 | 1>(
  'chatCounterExit',
  ['key'],
  `
local n = redis.call('HINCRBY', KEYS[1], 'n', -1)
if n > 0 then return 0 end
redis.call('HSET', KEYS[1], 'n', 0, 'g', ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[2])
return 1`,
);

const SETTLE = new RedisScript<'key', [now: number], 0 | 1>(
  'chatCounterSettle',
  ['key'],
  `
local v = redis.call('HMGET', KEYS[1], 'n', 'g')
local n = tonumber(v[1] or '0')
local g = tonumber(v[2] or '0')
if n <= 0 and g > 0 and g <= tonumber(ARGV[1]) then redis.call('DEL', KEYS[1]); return 1 end
return 0`,
);

/** Counts of an instance that crashed fade after a day instead of pinning users forever. */
export const COUNTER_TTL_S = 24 * 3600;

export class GracefulCounter {
  private readonly timers = new Set<NodeJS.Timeout>();
  /**
   * Single Redis: the calls of one event-loop turn go out in one write. A restart's
   * reconnect storm enters twice per socket (online, then the room), and the shutdown
   * before it exits twice per socket in one loop over every socket: one write each was
   * most of that loop's time, and a share of every reconnect's.
   */
  private turn: { client: Redis; writes: TurnPipeline } | undefined;

  constructor(
    private readonly redis: () => RedisClient,
    readonly graceMs: number,
  ) {}

  /** A socket arrived; true when this is news to the others (announce it). */
  async enter(key: string): Promise<boolean> {
    return (await this.call(ENTER, key, Date.now(), COUNTER_TTL_S)) === 1;
  }

  /**
   * A socket left. When it was the last, `onGone` runs once the grace period (`graceMs`,
   * the counter's own by default) has passed with no socket back, on this instance. An instance that stops before then loses the
   * announcement (not the count: readers see the grace end by the clock).
   */
  async exit(key: string, onGone: () => void, graceMs = this.graceMs): Promise<void> {
    const last = await this.call(EXIT, key, Date.now() + graceMs, COUNTER_TTL_S);
    if (last !== 1) return;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.settle(key)
        .then((gone) => gone && onGone())
        .catch(() => undefined); // Redis away: the count fades with its TTL, nobody is told
    }, graceMs + 50);
    timer.unref();
    this.timers.add(timer);
  }

  private async settle(key: string): Promise<boolean> {
    return (await this.call(SETTLE, key, Date.now())) === 1;
  }

  /** With this turn's other commands on a single Redis; on a cluster (auto-pipelined per node) directly. */
  private async call<A extends readonly Arg[]>(script: RedisScript<'key', A, 0 | 1>, key: string, ...args: A) {
    const client = this.redis();
    // A cluster auto-pipelines per node, and ioredis's auto-pipelines lack custom commands
    // defined after they were made (redis/ioredis#1931: "results[i] is not iterable", an
    // uncaught crash): plain EVAL there, as before.
    if (!(client instanceof Redis)) return (await client.eval(script.lua, 1, key, ...args)) as 0 | 1;
    if (this.turn?.client !== client) this.turn = { client, writes: new TurnPipeline(client) };
    return this.turn.writes.run(() => script.on(client)({ key }, ...args));
  }

  /** Present = a socket is there, or the last one left less than the grace period ago. */
  static present(fields: (string | null)[] | null | undefined, now = Date.now()): boolean {
    const [n, g] = fields ?? [];
    return Number(n ?? 0) > 0 || Number(g ?? 0) > now;
  }

  stop(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }
}
