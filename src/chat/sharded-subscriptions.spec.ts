import { createShardedAdapter } from '@socket.io/redis-adapter';
import { EventEmitter } from 'node:events';
import type { Namespace } from 'socket.io';
import type { RedisClient } from '../redis/redis.service';
import { ShardedSubscriptions } from './sharded-subscriptions';

/** A subscriber whose SSUBSCRIBE answers come when the test says. */
function fakeSubscriber() {
  const answers = new Map<string, { resolve: () => void; reject: (e: Error) => void }>();
  const sub = Object.assign(new EventEmitter(), {
    ssubscribe: jest.fn(
      (channel: string) => new Promise<void>((resolve, reject) => answers.set(channel, { resolve, reject })),
    ),
    sunsubscribe: jest.fn(() => Promise.resolve()),
  });
  return { sub, answers };
}

const settledYet = async (p: unknown) => {
  let done = false;
  void Promise.resolve(p).then(() => (done = true));
  await new Promise((r) => setImmediate(r));
  return done;
};

function setup(waitMs = 60_000) {
  const { sub, answers } = fakeSubscriber();
  const warn = jest.fn();
  const subscriptions = new ShardedSubscriptions({ warn }, waitMs);
  const pub = { spublish: jest.fn(() => Promise.resolve(0)) };
  const make = subscriptions.joinsWaitForSubscription(
    createShardedAdapter(pub, subscriptions.observe(sub as unknown as RedisClient), { channelPrefix: 'p' }),
  );
  const nsp = Object.assign(new EventEmitter(), { name: '/', sockets: new Map(), server: { encoder: {} } });
  const adapter = make(nsp as unknown as Namespace);
  return { adapter, answers, warn, channel: (room: string) => `p#/#${room}#` };
}

describe('ShardedSubscriptions', () => {
  it("ends a join once this instance's subscription to the room's channel is answered", async () => {
    const { adapter, answers, channel } = setup();
    const first = adapter.addAll('socket-a', new Set(['room:1']));
    const second = adapter.addAll('socket-b', new Set(['room:1'])); // while the first is in flight
    expect([...answers.keys()]).toContain(channel('room:1'));
    expect(await settledYet(first)).toBe(false);
    expect(await settledYet(second)).toBe(false);

    answers.get(channel('room:1'))!.resolve();
    expect(await settledYet(first)).toBe(true);
    expect(await settledYet(second)).toBe(true);
    // Subscribed: later joins of the room do not wait at all.
    expect(adapter.addAll('socket-c', new Set(['room:1']))).toBeUndefined();
    expect(adapter.rooms.get('room:1')).toEqual(new Set(['socket-a', 'socket-b', 'socket-c']));
  });

  it('ends the join when the subscription fails, and logs it instead of an unhandled rejection', async () => {
    const { adapter, answers, warn, channel } = setup();
    const join = adapter.addAll('socket-a', new Set(['room:2']));
    answers.get(channel('room:2'))!.reject(new Error('CLUSTERDOWN'));
    expect(await settledYet(join)).toBe(true);
    expect(warn).toHaveBeenCalledWith(expect.stringContaining('CLUSTERDOWN'));
  });

  it('ends the join after the wait when Redis does not answer', async () => {
    // The wait's clock is the test's: with a real 20 ms one, a loaded CI machine passed it
    // before the first look.
    jest.useFakeTimers({ doNotFake: ['setImmediate', 'nextTick', 'queueMicrotask'] });
    try {
      const { adapter } = setup(20);
      const join = adapter.addAll('socket-a', new Set(['room:3']));
      jest.advanceTimersByTime(19);
      expect(await settledYet(join)).toBe(false);
      jest.advanceTimersByTime(1);
      expect(await settledYet(join)).toBe(true);
    } finally {
      jest.useRealTimers();
    }
  });

  it("does not wait for a socket's own room, which has no channel", () => {
    const { adapter, answers } = setup();
    void adapter.addAll('socket-a', new Set(['room:4']));
    const before = answers.size;
    expect(adapter.addAll('abcdefghijklmnopqrst', new Set(['abcdefghijklmnopqrst']))).toBeUndefined();
    expect(answers.size).toBe(before);
  });
});
