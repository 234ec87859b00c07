import { InTurn } from './in-turn';

describe('InTurn', () => {
  it("runs one key's work in the order asked, each after the one before settled, other keys alongside", async () => {
    const turns = new InTurn<string>();
    const log: string[] = [];
    const step =
      (name: string, ms: number, fail = false) =>
      () =>
        new Promise<string>((resolve, reject) =>
          setTimeout(() => {
            log.push(name);
            if (fail) reject(new Error(name));
            else resolve(name);
          }, ms),
        );
    const a1 = turns.run('a', step('a1', 30, true));
    const a2 = turns.run('a', step('a2', 1));
    const b1 = turns.run('b', step('b1', 10));
    await expect(a1).rejects.toThrow('a1');
    await expect(a2).resolves.toBe('a2');
    await expect(b1).resolves.toBe('b1');
    expect(log).toEqual(['b1', 'a1', 'a2']);
    await turns.idle();
    expect((turns as unknown as { tails: Map<string, unknown> }).tails.size).toBe(0);
  });
});
