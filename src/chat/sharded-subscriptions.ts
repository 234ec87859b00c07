import type { Logger } from '@nestjs/common';
import type { Namespace } from 'socket.io';
import type { Adapter } from 'socket.io-adapter';
import type { RedisClient } from '../redis/redis.service';

/** The longest a join waits for its room's subscription (Redis away: it goes on without). */
export const SUBSCRIBE_WAIT_MS = 2000;

/** What the sharded adapter's instances have beyond socket.io's Adapter. */
type ShardedAdapter = Adapter & { dynamicChannel(room: string): string };

/**
 * The sharded adapter (Redis Cluster) subscribes this instance to a room's channel when the
 * room's first local socket joins it, and does not wait for the answer. A join acked before
 * the SSUBSCRIBE landed left a window in which another instance's broadcasts to the room
 * went nowhere: the socket missed messages sent right after its join (seen in CI as a
 * two-instance test losing the first messages). With this, `await socket.join(room)` ends
 * once the subscription is in place (or SUBSCRIBE_WAIT_MS passed), as joins on a single
 * Redis, whose adapter subscribes to every room at start, always could.
 *
 * It also logs failed subscriptions: the adapter drops those promises, and a rejection
 * (a shard away, the client closing at shutdown) would be unhandled, which ends a Node
 * process. ioredis restores the subscription when the shard is back.
 */
export class ShardedSubscriptions {
  /** Per channel: the SSUBSCRIBE in flight, settled (never rejected), bounded by the wait. */
  private readonly inFlight = new Map<string, Promise<void>>();

  constructor(
    private readonly logger: Pick<Logger, 'warn'>,
    private readonly waitMs = SUBSCRIBE_WAIT_MS,
  ) {}

  /** The subscriber client, with its subscriptions observed. */
  observe(sub: RedisClient): RedisClient {
    const ssubscribe = sub.ssubscribe.bind(sub) as (...channels: string[]) => Promise<unknown>;
    const sunsubscribe = sub.sunsubscribe.bind(sub) as (...channels: string[]) => Promise<unknown>;
    return Object.assign(sub, {
      ssubscribe: (...channels: string[]) => {
        const reply = ssubscribe(...channels);
        const settled = this.settle(reply, `ssubscribe ${channels.join(' ')}`);
        for (const channel of channels) this.inFlight.set(channel, settled);
        void settled.then(() => channels.forEach((c) => this.inFlight.get(c) === settled && this.inFlight.delete(c)));
        return reply;
      },
      sunsubscribe: (...channels: string[]) => {
        const reply = sunsubscribe(...channels);
        void this.settle(reply, `sunsubscribe ${channels.join(' ')}`);
        return reply;
      },
    });
  }

  /** The adapter factory, with joins that end once their rooms' channels are subscribed. */
  joinsWaitForSubscription(make: (nsp: Namespace) => Adapter): (nsp: Namespace) => Adapter {
    const inFlight = this.inFlight;
    // socket.io calls the factory with `new`: a plain function, whose returned object wins.
    return function subscribedJoins(nsp: Namespace) {
      const adapter = make(nsp) as ShardedAdapter;
      const addAll = adapter.addAll.bind(adapter);
      adapter.addAll = (id, rooms) => {
        void addAll(id, rooms); // the in-memory part is synchronous; it may subscribe
        const waits: Promise<void>[] = [];
        for (const room of rooms) {
          const wait = inFlight.get(adapter.dynamicChannel(room));
          if (wait) waits.push(wait);
        }
        return waits.length ? Promise.all(waits).then(() => undefined) : undefined;
      };
      return adapter;
    };
  }

  /** Settles when the reply does or the wait is over, whichever is first; logs a failure. */
  private settle(reply: Promise<unknown>, what: string): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, this.waitMs);
      timer.unref();
      reply.then(
        () => {
          clearTimeout(timer);
          resolve();
        },
        (e: Error) => {
          clearTimeout(timer);
          this.logger.warn(`${what}: ${e.message}`);
          resolve();
        },
      );
    });
  }
}
