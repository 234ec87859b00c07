import Redis from 'ioredis';
import { appendMessagesOn, AppendItem } from '../src/chat-history/scripts/append-message.script';
import { TEST_REDIS_URL } from './setup/test-env';

/**
 * The append script against a real Redis, several messages per call as a busy write window
 * sends them: each gets its own answer, in order, and the ones after a resend or an
 * unseeded room are appended as if alone.
 */
describe('append script (e2e, real Redis)', () => {
  const redis = new Redis(TEST_REDIS_URL);
  const prefix = `spec-append-${process.pid}:`;
  const keysOf = (room: number, cmid: string) => ({
    seq: `${prefix}{r:${room}}:seq`,
    pending: `${prefix}{r:${room}}:pending`,
    dedupe: `${prefix}{r:${room}}:cmid:1:${cmid}`,
  });
  const item = (room: number, id: string, cmid = ''): AppendItem => ({
    keys: keysOf(room, cmid),
    draft: JSON.stringify({ id, chatroomId: room, content: id }),
    hasClientMsgId: cmid !== '',
    id,
    chatroomId: room,
  });
  const index = `${prefix}ids`;

  afterAll(async () => {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
  });

  it('answers each message of a batch: new, resend, unseeded; later ones unaffected', async () => {
    await redis.set(keysOf(1, '').seq, 10);
    await redis.set(keysOf(2, '').seq, 0);
    const append = appendMessagesOn(redis, 60);
    const replies = await append(
      [
        item(1, 'a', 'c1'),
        item(1, 'b', 'c1'), // resend of a, in the same call
        item(3, 'x'), // no counter
        item(2, 'c'),
        item(1, 'd'),
      ],
      index,
    );
    expect(replies).toEqual([[0, 11], [1, '11:a'], [-1], [0, 1], [0, 12]]);
    expect(await redis.zrange(keysOf(1, '').pending, '0', '-1')).toEqual([
      '{"seq":11,"id":"a","chatroomId":1,"content":"a"}',
      '{"seq":12,"id":"d","chatroomId":1,"content":"d"}',
    ]);
    expect(await redis.hgetall(index)).toEqual({ a: '1:11', c: '2:1', d: '1:12' });
    expect(await redis.ttl(keysOf(1, 'c1').dedupe)).toBeGreaterThan(0);
  });

  it('one message without the index (the cluster form) is the same script', async () => {
    await redis.set(keysOf(4, '').seq, 0);
    const append = appendMessagesOn(redis, 60);
    expect(await append([item(4, 'e')])).toEqual([[0, 1]]);
    expect(await redis.hexists(index, 'e')).toBe(0);
  });
});
