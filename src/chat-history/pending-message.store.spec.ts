import { RedisKeys, useKeyNamespace } from '../common/constants';
import type { AppConfig } from '../config/app-config';
import type { RedisService } from '../redis/redis.service';
import { PendingMessageStore } from './pending-message.store';

/** A message of room 7 as ChatService hands it to append. */
const draftOf = (id: string, senderId: number) => ({
  id,
  chatroomId: 7,
  senderId,
  sender: { id: senderId, username: 'u', nickName: 'u', headPic: '' },
  type: 'text' as const,
  content: 'x',
  createdAt: new Date().toISOString(),
});

/**
 * On a Redis Cluster the room's mark (the sweeper's set) and the append go over different
 * connections; a message must never sit in a buffer whose room is unmarked, or a server
 * dying before the queue job would leave it where no sweeper looks.
 */
describe('PendingMessageStore on a cluster: the mark before the append', () => {
  beforeAll(() => useKeyNamespace('spec'));
  function fakeCluster() {
    const log: string[] = [];
    let releaseMark!: () => void;
    const client = {
      defineCommand(name: string) {
        (client as unknown as Record<string, unknown>)[name] = (...args: unknown[]) => {
          // ARGV of one message ends with its id, chatroomId and senderId.
          log.push(`${name}:${String(args[args.length - 3])}`);
          return Promise.resolve([0, log.length]);
        };
      },
      zadd: () => {
        log.push('mark');
        return new Promise<number>((resolve) => (releaseMark = () => resolve(1)));
      },
      hset: () => Promise.resolve(1),
    };
    const redis = { client, isCluster: true } as unknown as RedisService;
    return { redis, log, release: () => releaseMark() };
  }

  it('a send that finds its room being marked waits for that mark', async () => {
    const { redis, log, release } = fakeCluster();
    const store = new PendingMessageStore(redis, { dedupeWindowS: 86_400 } as AppConfig);
    const first = store.append(draftOf('a', 1));
    const second = store.append(draftOf('b', 1));
    await new Promise((r) => setImmediate(r));
    expect(log).toEqual(['mark']); // neither append went out before the mark landed
    release();
    await Promise.all([first, second]);
    expect(log[0]).toBe('mark');
    expect(log.slice(1).sort()).toEqual(['chatAppendMessage:a', 'chatAppendMessage:b'].sort());
  });
});

/**
 * Every send is checked against its room's recent removals in the append's own script
 * call: the removed set is one more key of the room, the sender one more argument, and the
 * script's refusal is the `removed` result.
 */
describe('PendingMessageStore: the removed set in the append', () => {
  beforeAll(() => useKeyNamespace('spec'));
  const draft = draftOf('m1', 42);
  function fakeCluster(answer: (string | number)[]) {
    const calls: unknown[][] = [];
    const client = {
      defineCommand(name: string) {
        (client as unknown as Record<string, unknown>)[name] = (...args: unknown[]) => {
          calls.push([name, ...args]);
          return Promise.resolve(answer);
        };
      },
      zadd: () => Promise.resolve(1),
      hset: () => Promise.resolve(1),
    };
    const store = new PendingMessageStore(
      { client, isCluster: true } as unknown as RedisService,
      {
        dedupeWindowS: 60,
      } as AppConfig,
    );
    return { store, calls };
  }

  it("declares the room's removed set among the message's keys and passes the sender", async () => {
    const { store, calls } = fakeCluster([0, 5]);
    expect(await store.append(draft)).toMatchObject({ status: 'new', message: { seq: 5 } });
    expect(calls).toEqual([
      [
        'chatAppendMessage',
        RedisKeys.roomSeq(7),
        RedisKeys.roomPending(7),
        RedisKeys.clientMsg(7, 42, ''),
        RedisKeys.roomRemoved(7),
        60,
        JSON.stringify(draft),
        '0',
        'm1',
        7,
        '42',
      ],
    ]);
  });

  it('answers `removed` when the script refuses the sender, and indexes nothing', async () => {
    const { store, calls } = fakeCluster([-2, 0]);
    expect(await store.append(draft)).toEqual({ status: 'removed' });
    expect(calls).toHaveLength(1);
  });
});
