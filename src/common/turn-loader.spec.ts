import { turnLoader } from './turn-loader';

describe('turnLoader', () => {
  it('answers the loads of separate callbacks in one turn with one batch, in key order', async () => {
    const batches: number[][] = [];
    const loader = turnLoader((keys: readonly number[]) => {
      batches.push([...keys]);
      return Promise.resolve(keys.map((k) => (k > 0 ? k * 10 : null)));
    });
    // Each load from its own callback of one turn, as each socket's handshake is; with
    // DataLoader's default (process.nextTick) these would be three batches.
    const out: Promise<number | null>[] = [];
    await new Promise<void>((resolve) => {
      for (const k of [1, -1, 3]) setImmediate(() => out.push(loader.load(k)));
      setImmediate(resolve);
    });
    const results = await Promise.all(out);
    expect(batches).toEqual([[1, -1, 3]]);
    expect(results).toEqual([10, null, 30]);
  });

  it('keeps no cache: a later turn loads again', async () => {
    let calls = 0;
    const loader = turnLoader((keys: readonly number[]) => {
      calls++;
      return Promise.resolve(keys.map(() => calls));
    });
    expect(await loader.load(1)).toBe(1);
    expect(await loader.load(1)).toBe(2);
  });

  it('a failed batch rejects each of its loads, and only those', async () => {
    let calls = 0;
    const loader = turnLoader((keys: readonly number[]) =>
      ++calls === 1 ? Promise.reject(new Error('database away')) : Promise.resolve([...keys]),
    );
    const first = await Promise.allSettled([loader.load(1), loader.load(2)]);
    expect(first.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect(await loader.load(3)).toBe(3);
  });
});
