import { SharedResult } from './shared-check';

/** A run the test settles by hand, and a clock it moves. */
function setup(options: { failedFreshMs?: number; failed?: (v: string) => boolean } = {}) {
  let clock = 0;
  const runs: { resolve: (v: string) => void; reject: (e: Error) => void }[] = [];
  const run = jest.fn(
    () =>
      new Promise<string>((resolve, reject) => {
        runs.push({ resolve, reject });
      }),
  );
  const shared = new SharedResult(run, { freshMs: 1000, now: () => clock, ...options });
  const flush = () => new Promise((r) => setImmediate(r));
  return { shared, run, runs, flush, advance: (ms: number) => (clock += ms) };
}

describe('SharedResult', () => {
  it('runs once for concurrent callers, who all get that answer', async () => {
    const { shared, run, runs, flush } = setup();
    const answers = Promise.all(Array.from({ length: 200 }, () => shared.get()));
    await flush();
    expect(run).toHaveBeenCalledTimes(1);
    runs[0].resolve('up');
    expect(await answers).toEqual(Array(200).fill('up'));
  });

  it('hands the answer out until freshMs after its run started, then runs again', async () => {
    const { shared, run, runs, flush, advance } = setup();
    const first = shared.get();
    await flush();
    advance(300); // the run took 300 ms
    runs[0].resolve('up');
    await first;
    advance(650); // 950 ms after the start: still fresh
    expect(await shared.get()).toBe('up');
    expect(run).toHaveBeenCalledTimes(1);
    advance(50); // 1000 ms after the start: stale
    const second = shared.get();
    await flush();
    expect(run).toHaveBeenCalledTimes(2);
    runs[1].resolve('down');
    expect(await second).toBe('down');
  });

  it('keeps a failed answer only failedFreshMs', async () => {
    const { shared, run, runs, flush, advance } = setup({ failedFreshMs: 250, failed: (v) => v === 'down' });
    const first = shared.get();
    await flush();
    runs[0].resolve('down');
    await first;
    advance(200);
    expect(await shared.get()).toBe('down');
    advance(50);
    void shared.get();
    await flush();
    expect(run).toHaveBeenCalledTimes(2);
  });

  it('shares a rejection with its waiters, and keeps it no longer than a failed answer', async () => {
    const { shared, run, runs, flush, advance } = setup({ failedFreshMs: 250 });
    const a = shared.get();
    const b = shared.get();
    await flush();
    runs[0].reject(new Error('refused'));
    await expect(a).rejects.toThrow('refused');
    await expect(b).rejects.toThrow('refused');
    await expect(shared.get()).rejects.toThrow('refused'); // still within 250 ms
    expect(run).toHaveBeenCalledTimes(1);
    advance(250);
    void shared.get().catch(() => undefined);
    await flush();
    expect(run).toHaveBeenCalledTimes(2);
  });

  it('never keeps a failure longer than a success', () => {
    const { shared } = setup({ failedFreshMs: 5000 });
    expect((shared as unknown as { failedFreshMs: number }).failedFreshMs).toBe(1000);
  });
});
