import { RedisAdapter } from '@socket.io/redis-adapter';
import type Redis from 'ioredis';
import type { Namespace } from 'socket.io';
import { ioChannelPrefix, PEER_HELLO } from '../common/constants';
import { TurnPipeline } from '../redis/turn-pipeline';

type BroadcastArgs = Parameters<RedisAdapter['broadcast']>;

/** How often an instance counts the instances on its Redis (one PUBSUB NUMSUB). */
const INSTANCE_POLL_MS = 1000;

/**
 * The socket.io Redis adapter, minus the Redis round trip when nobody else listens.
 *
 * The stock adapter publishes every broadcast and reads it back on its own subscription
 * (encode, PUBLISH, receive, decode, drop) even when this is the only instance. With one
 * instance that was half the bare socket.io ceiling in the bench (`baseline-redis`). The
 * adapter already answers `fetchSockets` and `serverSideEmitWithAck` locally when its
 * subscriber count says it is alone; this does the same for broadcasts.
 *
 * Knowing that it is alone: every `INSTANCE_POLL_MS` it counts the subscribers of the
 * adapter's request channel (what `serverCount()` does), and a starting instance says hello
 * on that channel as soon as its own subscriptions are in place (and again after its
 * subscriber reconnects): the others publish from then on, so sockets on the new instance
 * never wait for a poll. Said earlier, a peer's count taken after the hello could still miss
 * the new instance's subscription, and that peer stopped publishing to it until its next
 * count (a CI run lost messages that way). Whenever the count is unknown (Redis errors) it
 * publishes, as the stock adapter always does.
 */
export class InstanceAwareRedisAdapter extends RedisAdapter {
  private alone = false;
  /** Bumped by each hello: a count requested before a hello arrived is stale. */
  private hellos = 0;
  private readonly poll: NodeJS.Timeout;
  private readonly helloChannel: string;
  /**
   * This instance's own subscriptions are answered (and the connection has not dropped since):
   * only a count sent after that includes this instance, so only such a count of 1 means alone.
   */
  private subscribed = false;
  private closed = false;
  /**
   * The broadcasts of one event-loop turn are published in one socket write: the sends whose
   * appends came back together broadcast in the same turn, and one PUBLISH write each was a
   * Redis wake-up each (README, Performance).
   */
  private readonly publishes: TurnPipeline;

  constructor(nsp: Namespace, pub: Redis, sub: Redis) {
    super(nsp, pub, sub, { key: adapterKey(pub.options.db ?? 0) });
    this.publishes = new TurnPipeline(pub);
    nsp.on(PEER_HELLO, () => {
      this.hellos++;
      this.alone = false;
    });
    // The channel every adapter subscribes to at start (RedisAdapter's requestChannel).
    this.helloChannel = `${adapterKey(pub.options.db ?? 0)}-request#${nsp.name}#`;
    this.helloWhenSubscribed();
    sub.on('ready', this.helloWhenSubscribed);
    sub.on('close', this.unsubscribed);
    this.poll = setInterval(() => this.count(), INSTANCE_POLL_MS);
    this.poll.unref();
    this.count();
  }

  /** Whether broadcasts currently stay off Redis (for tests and diagnostics). */
  get isAlone(): boolean {
    return this.alone;
  }

  /**
   * Hello, once the subscriptions the adapter asked for are in place: commands of one
   * connection run in order, so this SUBSCRIBE of a channel it already asked for answers
   * after those did. Not said when the SUBSCRIBE fails or the adapter has closed: without its
   * subscription this instance receives nothing anyway, and serverSideEmit drops its
   * PUBLISH's promise, so a PUBLISH on a closed connection (shutdown with Redis away) was an
   * unhandled rejection.
   */
  private readonly helloWhenSubscribed = (): void => {
    (this.subClient as Redis).subscribe(this.helloChannel).then(
      () => {
        if (this.closed) return;
        this.subscribed = true;
        this.serverSideEmit([PEER_HELLO]);
        this.count(); // the first count that can tell whether it is alone
      },
      () => undefined, // ioredis resubscribes when the connection is back, then says 'ready'
    );
  };

  private readonly unsubscribed = (): void => {
    this.subscribed = false;
  };

  private count(): void {
    const hellosBefore = this.hellos;
    // A count sent before this instance's own SUBSCRIBE was answered may not include it, so
    // its 1 may be a peer: two instances starting together each read 1 and stopped
    // publishing to the other until the next count (a CI run lost messages that way).
    const includesUs = this.subscribed;
    this.serverCount().then(
      (n) => {
        if (this.hellos === hellosBefore) this.alone = n <= 1 && includesUs && this.subscribed;
      },
      () => (this.alone = false),
    );
  }

  override broadcast(packet: BroadcastArgs[0], opts: BroadcastArgs[1]): void {
    if (this.alone && !opts.flags?.local) opts = { ...opts, flags: { ...opts.flags, local: true } };
    else if (!opts.flags?.local) this.publishes.hold();
    super.broadcast(packet, opts);
  }

  override close(): Promise<void> | void {
    this.closed = true;
    clearInterval(this.poll);
    (this.subClient as Redis).off('ready', this.helloWhenSubscribed);
    (this.subClient as Redis).off('close', this.unsubscribed);
    return super.close();
  }
}

/**
 * The adapter's channel prefix (see ioChannelPrefix): pub/sub channels belong to the whole
 * Redis server, so deployments sharing one (another database, another Redis database number)
 * must not relay room broadcasts to each other: `room:1` means a different room in each.
 */
export function adapterKey(redisDb: number): string {
  return ioChannelPrefix(redisDb);
}

/**
 * What `server.adapter(...)` takes. socket.io calls it with `new`, so it must be a plain
 * function (as the stock `createAdapter` returns), never an arrow function.
 */
export function createInstanceAwareAdapter(pub: Redis, sub: Redis): (nsp: Namespace) => InstanceAwareRedisAdapter {
  return function instanceAwareAdapter(nsp: Namespace) {
    return new InstanceAwareRedisAdapter(nsp, pub, sub);
  };
}
