import { RedisScript } from '../../redis/redis-script';

/** How long a user's last version is kept: past it, Redis's clock alone keeps versions rising. */
export const INBOX_VERSION_TTL_S = 86_400;

/**
 * The next version of a user's `inbox` events: Redis's clock in microseconds, or one more
 * than the last version if that is not behind it. Increasing for the user whichever
 * instance asks, and still increasing once the key has expired or Redis lost it (a restart,
 * a failover), because the clock has moved on meanwhile: a client that keeps the highest
 * version it saw never drops a newer event for want of a counter. 16 digits, under 2^53, so
 * exact as a JSON number; `%d` writes it without Lua's exponent notation.
 */
export const nextInboxVersionScript = new RedisScript<'version', [ttlS: number], number>(
  'chatNextInboxVersion',
  ['version'],
  `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local last = tonumber(redis.call('GET', KEYS[1]) or '0')
local v = now
if last >= now then v = last + 1 end
redis.call('SET', KEYS[1], string.format('%d', v), 'EX', ARGV[1])
return v
`,
);
