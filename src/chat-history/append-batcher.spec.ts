import type { Redis } from 'ioredis';
import { RecordingSocket } from '../../test/utils/recording-socket';
import { TurnPipeline } from '../redis/turn-pipeline';
import { AppendBatcher } from './append-batcher';
import type { AppendItem, AppendReply } from './scripts/append-message.script';

const item = (id: string): AppendItem => ({
  keys: { seq: 's', pending: 'p', dedupe: 'd' },
  draft: '{}',
  hasClientMsgId: false,
  id,
  chatroomId: 1,
});

/** A connection whose script call writes the ids it carries and answers seqs in order. */
function setup(status = 'ready') {
  const stream = new RecordingSocket();
  const client = { status, stream } as unknown as Redis;
  const calls: string[][] = [];
  let seq = 0;
  const send = (items: readonly AppendItem[]): Promise<AppendReply[]> => {
    const ids = items.map((i) => i.id);
    calls.push(ids);
    stream.write(`append:${ids.join(',')}`);
    return Promise.resolve(items.map((): AppendReply => [0, ++seq]));
  };
  const turn = new TurnPipeline(client);
  return { stream, calls, turn, batcher: new AppendBatcher(turn, send) };
}

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

describe('AppendBatcher', () => {
  it("sends a window's appends as one call, after the window's other commands, and answers each in order", async () => {
    const { stream, calls, turn, batcher } = setup();
    const replies = [batcher.append(item('a'))];
    // A room's mark, issued after the first append but written before the batch: marks land first.
    void turn.run((c) => {
      (c as unknown as { stream: RecordingSocket }).stream.write('mark');
      return Promise.resolve();
    });
    replies.push(batcher.append(item('b')), batcher.append(item('c')));
    expect(calls).toEqual([]);
    await nextTurn();
    expect(calls).toEqual([['a', 'b', 'c']]);
    expect(stream.writes).toEqual([['mark', 'append:a,b,c']]);
    expect(await Promise.all(replies)).toEqual([
      [0, 1],
      [0, 2],
      [0, 3],
    ]);
  });

  it('resolves a batch in one tick, in send order', async () => {
    const { batcher } = setup();
    const order: string[] = [];
    const all = ['a', 'b', 'c', 'd'].map((id) => batcher.append(item(id)).then(() => order.push(id)));
    await Promise.all(all);
    expect(order).toEqual(['a', 'b', 'c', 'd']);
  });

  it('a later window is a call of its own', async () => {
    const { calls, batcher } = setup();
    await batcher.append(item('a'));
    await batcher.append(item('b'));
    expect(calls).toEqual([['a'], ['b']]);
  });

  it('splits a window past 256 appends into calls in order', async () => {
    const { calls, batcher } = setup();
    const ids = Array.from({ length: 300 }, (_, i) => `m${i}`);
    const replies = await Promise.all(ids.map((id) => batcher.append(item(id))));
    expect(calls.map((c) => c.length)).toEqual([256, 44]);
    expect(calls.flat()).toEqual(ids);
    expect(replies.map((r) => r[1])).toEqual(ids.map((_, i) => i + 1));
  });

  it('rejects every append of a call that failed', async () => {
    const stream = new RecordingSocket();
    const turn = new TurnPipeline({ status: 'ready', stream } as unknown as Redis);
    const batcher = new AppendBatcher(turn, () => Promise.reject(new Error('OOM')));
    const results = await Promise.allSettled([batcher.append(item('a')), batcher.append(item('b'))]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
  });

  it('sends at once, alone, when the connection is not ready', async () => {
    const { calls, batcher } = setup('reconnecting');
    const reply = batcher.append(item('a'));
    expect(calls).toEqual([['a']]);
    expect(await reply).toEqual([0, 1]);
  });
});
