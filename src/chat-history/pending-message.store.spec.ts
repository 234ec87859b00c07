import { useKeyNamespace } from '../common/constants';
import type { AppConfig } from '../config/app-config';
import type { RedisService } from '../redis/redis.service';
import { PendingMessageStore } from './pending-message.store';

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
          log.push(`${name}:${String(args[args.length - 2])}`);
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
  const draft = (id: string) => ({
    id,
    chatroomId: 7,
    senderId: 1,
    sender: { id: 1, username: 'u', nickName: 'u', headPic: '' },
    type: 'text' as const,
    content: 'x',
    createdAt: new Date().toISOString(),
  });

  it('a send that finds its room being marked waits for that mark', async () => {
    const { redis, log, release } = fakeCluster();
    const store = new PendingMessageStore(redis, { dedupeWindowS: 86_400 } as AppConfig);
    const first = store.append(draft('a'));
    const second = store.append(draft('b'));
    await new Promise((r) => setImmediate(r));
    expect(log).toEqual(['mark']); // neither append went out before the mark landed
    release();
    await Promise.all([first, second]);
    expect(log[0]).toBe('mark');
    expect(log.slice(1).sort()).toEqual(['chatAppendMessage:a', 'chatAppendMessage:b'].sort());
  });
});
