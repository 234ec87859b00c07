import { Batcher } from './persist-batcher';

describe('Batcher', () => {
  it('groups items arriving within the window into one flush', async () => {
    const flushes: number[][] = [];
    const b = new Batcher<number>((items) => Promise.resolve(void flushes.push(items)), 100, 5);
    b.add(1);
    b.add(2);
    b.add(3);
    await b.drain();
    expect(flushes).toEqual([[1, 2, 3]]);
  });

  it('flushes the first item after a quiet spell on the next tick, and later ones after the interval', async () => {
    const flushes: number[][] = [];
    const b = new Batcher<number>((items) => Promise.resolve(void flushes.push(items)), 100, 200);
    b.add(1);
    await new Promise((r) => setTimeout(r, 20));
    expect(flushes).toEqual([[1]]);
    b.add(2);
    b.add(3);
    await new Promise((r) => setTimeout(r, 20));
    expect(flushes).toEqual([[1]]); // within the interval: waiting
    await b.drain();
    expect(flushes).toEqual([[1], [2, 3]]);
  });

  it('flushes at once when the batch is full', () => {
    const flushes: number[][] = [];
    const b = new Batcher<number>((items) => Promise.resolve(void flushes.push(items)), 2, 10_000);
    b.add(1);
    b.add(2);
    expect(flushes).toEqual([[1, 2]]);
  });

  it('a failed flush neither escapes as an unhandled rejection nor stops later flushes', async () => {
    const flushes: number[][] = [];
    let calls = 0;
    const b = new Batcher<number>(
      (items) => (++calls === 1 ? Promise.reject(new Error('queue down')) : Promise.resolve(void flushes.push(items))),
      1,
      1,
    );
    const unhandled = jest.fn();
    process.on('unhandledRejection', unhandled);
    try {
      b.add(1);
      b.add(2);
      await b.drain();
      await new Promise((r) => setImmediate(r));
    } finally {
      process.off('unhandledRejection', unhandled);
    }
    expect(unhandled).not.toHaveBeenCalled();
    expect(flushes).toEqual([[2]]);
  });

  it('drain() flushes what waits and waits for flushes in flight', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const done: number[] = [];
    const b = new Batcher<number>(
      async (items) => {
        await gate;
        done.push(...items);
      },
      100,
      10_000,
    );
    b.add(1);
    const drained = b.drain();
    setTimeout(release, 10);
    await drained;
    expect(done).toEqual([1]);
  });
});
