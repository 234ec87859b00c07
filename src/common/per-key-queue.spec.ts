import { PerKeyQueue } from './per-key-queue';

/** A piece of work that runs until released, recording when it started. */
function gated(log: string[], name: string) {
  let release!: () => void;
  const done = new Promise<void>((r) => (release = r));
  return {
    work: async () => {
      log.push(`start ${name}`);
      await done;
      log.push(`end ${name}`);
      return name;
    },
    release: () => release(),
  };
}

const turn = () => new Promise((r) => setImmediate(r));

describe('PerKeyQueue', () => {
  it('runs one key’s work one at a time in arrival order, other keys alongside', async () => {
    const q = new PerKeyQueue<number>(8, 'room changes');
    const log: string[] = [];
    const [a1, a2, a3, b1] = [gated(log, 'a1'), gated(log, 'a2'), gated(log, 'a3'), gated(log, 'b1')];
    const runs = [q.run(1, a1.work), q.run(1, a2.work), q.run(1, a3.work), q.run(2, b1.work)];
    await turn();
    expect(log).toEqual(['start a1', 'start b1']);
    a1.release();
    await turn();
    expect(log).toEqual(['start a1', 'start b1', 'end a1', 'start a2']);
    a2.release();
    a3.release();
    b1.release();
    await expect(Promise.all(runs)).resolves.toEqual(['a1', 'a2', 'a3', 'b1']);
    expect(log.filter((l) => l.startsWith('start'))).toEqual(['start a1', 'start b1', 'start a2', 'start a3']);
    expect(q.size).toBe(0);
  });

  it('refuses past maxQueued waiting with RATE_LIMITED and a retryAfterMs, at once', async () => {
    const q = new PerKeyQueue<number>(2, 'room changes');
    const log: string[] = [];
    const first = gated(log, 'first');
    const runs = [q.run(1, first.work), q.run(1, () => Promise.resolve('w1')), q.run(1, () => Promise.resolve('w2'))];
    const refused = q.run(1, () => Promise.resolve('never'));
    await expect(refused).rejects.toMatchObject({
      code: 'RATE_LIMITED',
      message: 'The server is busy with room changes: try again shortly',
      details: { retryAfterMs: expect.any(Number) },
    });
    // Another key is not refused for this one's queue.
    await expect(q.run(2, () => Promise.resolve('other'))).resolves.toBe('other');
    first.release();
    await expect(Promise.all(runs)).resolves.toEqual(['first', 'w1', 'w2']);
  });

  it('passes the turn on when work fails, and forgets idle keys', async () => {
    const q = new PerKeyQueue<string>(4, 'x');
    const failing = q.run('k', () => Promise.reject(new Error('boom')));
    const next = q.run('k', () => Promise.resolve('next'));
    await expect(failing).rejects.toThrow('boom');
    await expect(next).resolves.toBe('next');
    expect(q.size).toBe(0);
  });
});
