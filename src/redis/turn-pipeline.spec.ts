import type { Redis } from 'ioredis';
import { RecordingSocket } from '../../test/utils/recording-socket';
import { TurnPipeline } from './turn-pipeline';

/** What TurnPipeline reads of an ioredis client; commands write straight to the stream, as ioredis does when ready. */
function fakeClient(status = 'ready') {
  const stream = new RecordingSocket();
  const client = { status, stream };
  const command = (c: typeof client, name: string) =>
    new Promise<string>((resolve) => {
      c.stream.write(name);
      resolve(name);
    });
  return {
    client: client as unknown as Redis,
    stream,
    command: command as unknown as (c: Redis, n: string) => Promise<string>,
  };
}

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

describe('TurnPipeline', () => {
  it("writes one turn's commands in one write, in the order issued, and answers each caller", async () => {
    const { client, stream, command } = fakeClient();
    const turn = new TurnPipeline(client);
    const replies = await Promise.all([
      turn.run((c) => Promise.all([command(c, 'a1'), command(c, 'a2')])),
      turn.run((c) => command(c, 'b1')),
      turn.run((c) => command(c, 'c1')),
    ]);
    expect(stream.writes).toEqual([]); // nothing left before the turn's I/O was done
    await nextTurn();
    expect(stream.writes).toEqual([['a1', 'a2', 'b1', 'c1']]);
    expect(replies).toEqual([['a1', 'a2'], 'b1', 'c1']);
  });

  it('a later turn gets a write of its own', async () => {
    const { client, stream, command } = fakeClient();
    const turn = new TurnPipeline(client);
    await turn.run((c) => command(c, 'x'));
    await nextTurn();
    await turn.run((c) => command(c, 'y'));
    await nextTurn();
    expect(stream.writes).toEqual([['x'], ['y']]);
  });

  describe('with a linger', () => {
    beforeEach(() => jest.useFakeTimers({ doNotFake: ['setImmediate', 'nextTick'] }));
    afterEach(() => jest.useRealTimers());

    it('after a turn of several runs, the runs of the next linger share one write, until a window holds one', async () => {
      const { client, stream, command } = fakeClient();
      const turn = new TurnPipeline(client, 5);
      void turn.run((c) => command(c, 'a'));
      void turn.run((c) => command(c, 'b'));
      await nextTurn();
      expect(stream.writes).toEqual([['a', 'b']]); // not busy before: it left with its turn
      void turn.run((c) => command(c, 'c'));
      await nextTurn();
      void turn.run((c) => command(c, 'd'));
      await nextTurn();
      jest.advanceTimersByTime(4);
      expect(stream.writes).toEqual([['a', 'b']]); // busy: held, turns later
      jest.advanceTimersByTime(1);
      expect(stream.writes).toEqual([
        ['a', 'b'],
        ['c', 'd'],
      ]);
      void turn.run((c) => command(c, 'e'));
      await nextTurn();
      expect(stream.writes).toEqual([
        ['a', 'b'],
        ['c', 'd'],
      ]); // still busy
      jest.advanceTimersByTime(5);
      void turn.run((c) => command(c, 'f'));
      await nextTurn();
      expect(stream.writes).toEqual([['a', 'b'], ['c', 'd'], ['e'], ['f']]); // e was alone: quiet again
    });

    it("waits for nothing on a quiet connection: one caller's sends, each after the last one's reply", async () => {
      const { client, stream, command } = fakeClient();
      const turn = new TurnPipeline(client, 5);
      await turn.run((c) => command(c, 'a'));
      await nextTurn();
      await turn.run((c) => command(c, 'b'));
      await nextTurn();
      expect(stream.writes).toEqual([['a'], ['b']]); // no timer advanced
    });

    it('is not busy once the last window closed more than the linger ago', async () => {
      const { client, stream, command } = fakeClient();
      const turn = new TurnPipeline(client, 5);
      void turn.run((c) => command(c, 'a'));
      void turn.run((c) => command(c, 'b'));
      await nextTurn();
      jest.advanceTimersByTime(6);
      void turn.run((c) => command(c, 'c'));
      await nextTurn();
      expect(stream.writes).toEqual([['a', 'b'], ['c']]);
    });
  });

  it("a caller's failure reaches only that caller", async () => {
    const { client, command } = fakeClient();
    const turn = new TurnPipeline(client);
    const results = await Promise.allSettled([
      turn.run((c) => command(c, 'ok')),
      turn.run(() => Promise.reject(new Error('NOSCRIPT'))),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected']);
  });

  it('leaves a client that is not connected alone: ioredis queues the commands until it is', async () => {
    const { client, stream, command } = fakeClient('connecting');
    const turn = new TurnPipeline(client);
    const cork = jest.spyOn(stream, 'cork');
    await turn.run((c) => command(c, 'queued'));
    expect(cork).not.toHaveBeenCalled();
  });

  it('a socket that closes before the turn ends is not written to, and nothing throws', async () => {
    const { client, stream, command } = fakeClient();
    const turn = new TurnPipeline(client);
    await turn.run((c) => command(c, 'lost'));
    stream.destroy();
    await nextTurn();
    expect(stream.writes).toEqual([]);
  });
});
