import { Batcher } from './persist-batcher';

describe('Batcher', () => {
  it('groups items arriving within the window into one flush', async () => {
    const flushes: number[][] = [];
    const b = new Batcher<number>((items) => Promise.resolve(void flushes.push(items)), 100, 5);
    await Promise.all([b.add(1), b.add(2), b.add(3)]);
    expect(flushes).toEqual([[1, 2, 3]]);
  });

  it('flushes at once when the batch is full', async () => {
    const flushes: number[][] = [];
    const b = new Batcher<number>((items) => Promise.resolve(void flushes.push(items)), 2, 10_000);
    await Promise.all([b.add(1), b.add(2)]);
    expect(flushes).toEqual([[1, 2]]);
  });

  it('rejects every caller of a failed flush, and only those', async () => {
    let calls = 0;
    const b = new Batcher<number>(
      () => (++calls === 1 ? Promise.reject(new Error('queue down')) : Promise.resolve()),
      2,
      1,
    );
    const first = Promise.allSettled([b.add(1), b.add(2)]);
    const second = Promise.allSettled([b.add(3)]);
    expect((await first).map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect((await second).map((r) => r.status)).toEqual(['fulfilled']);
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
    void b.add(1);
    const drained = b.drain();
    setTimeout(release, 10);
    await drained;
    expect(done).toEqual([1]);
  });
});
