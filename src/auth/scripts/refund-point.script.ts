import { RedisScript } from '../../redis/redis-script';

/**
 * Gives back one point of a rate-limiter-flexible counter, only while the counter holds
 * one: a missing key (its window expired, or a successful login deleted it) stays missing,
 * and a count never goes below zero. rate-limiter-flexible's `reward` is an INCRBY of −1
 * that creates the key, so a refund landing after the count was cleared started the next
 * window at −1: one more guess than the budget. DECR keeps the key's expiry.
 *
 * Replies with the count after the refund (0 when there was nothing to give back).
 */
export const refundPoint = new RedisScript<'counter', [], number>(
  'refundPoint',
  ['counter'],
  `
local count = tonumber(redis.call('GET', KEYS[1]))
if count and count > 0 then return redis.call('DECR', KEYS[1]) end
return 0
`,
);
