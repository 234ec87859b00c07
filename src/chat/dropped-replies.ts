import type { Logger } from '@nestjs/common';
import type { RedisClient } from '../redis/redis.service';

/** At most one warning per this interval: a shutdown with Redis away fails every queued command at once. */
const WARN_EVERY_MS = 10_000;

/**
 * The stock socket.io Redis adapter drops the promises of its pub/sub commands: SUBSCRIBE
 * and PSUBSCRIBE when it starts, UNSUBSCRIBE when it closes, PUBLISH for broadcasts and
 * server-side emits. While Redis is away those commands wait in the connection's offline
 * queue, and when the connection is closed then (a shutdown during an outage) each one is
 * rejected with nobody listening: an unhandled rejection, which ends a Node process (a CI
 * run of the health suite failed on four of them). The adapter keeps its promises as
 * they are; each also gets a handler here, which logs the failure instead.
 */
export function observeDroppedReplies<C extends RedisClient>(
  client: C,
  methods: readonly string[],
  logger: Pick<Logger, 'warn'>,
): C {
  let lastWarn = 0;
  const observed: Record<string, (...args: unknown[]) => unknown> = {};
  for (const name of methods) {
    const original = (client as unknown as Record<string, (...args: unknown[]) => unknown>)[name];
    if (typeof original !== 'function') continue;
    observed[name] = (...args: unknown[]) => {
      const reply = original.apply(client, args);
      if (reply instanceof Promise) {
        void reply.catch((err: Error) => {
          if (Date.now() - lastWarn < WARN_EVERY_MS) return;
          lastWarn = Date.now();
          logger.warn(`socket.io adapter: ${name} failed (${err.message})`);
        });
      }
      return reply;
    };
  }
  return Object.assign(client, observed);
}
