import type { ChainableCommander, Redis } from 'ioredis';
import { TurnPipeline } from './turn-pipeline';

/** A pipeline that records its commands and answers each with its name, or an error for "bad". */
function fakeClient(opts: { failExec?: boolean } = {}) {
  const pipelines: string[][] = [];
  const client = {
    pipeline() {
      const commands: string[] = [];
      pipelines.push(commands);
      const p = {
        get length() {
          return commands.length;
        },
        echo(name: string) {
          commands.push(name);
          return p;
        },
        exec: () =>
          opts.failExec
            ? Promise.reject(new Error('Connection is closed.'))
            : Promise.resolve(commands.map((c) => (c === 'bad' ? [new Error(c), null] : [null, c]))),
      };
      return p;
    },
  };
  return { client: client as unknown as Redis, pipelines };
}

const echo =
  (...names: string[]) =>
  (p: ChainableCommander) =>
    names.forEach((n) => p.echo(n));

describe('TurnPipeline', () => {
  it('sends everything one turn asked as one pipeline, and gives each caller its own replies in order', async () => {
    const { client, pipelines } = fakeClient();
    const turn = new TurnPipeline(client);
    const [a, b, c] = await Promise.all([
      turn.submit(echo('a1', 'a2')),
      turn.submit(echo('b1')),
      turn.submit(echo('c1', 'c2', 'c3')),
    ]);
    expect(pipelines).toEqual([['a1', 'a2', 'b1', 'c1', 'c2', 'c3']]);
    expect(a).toEqual([
      [null, 'a1'],
      [null, 'a2'],
    ]);
    expect(b).toEqual([[null, 'b1']]);
    expect(c.map(([, r]) => r)).toEqual(['c1', 'c2', 'c3']);
  });

  it('a later turn gets a pipeline of its own', async () => {
    const { client, pipelines } = fakeClient();
    const turn = new TurnPipeline(client);
    await turn.submit(echo('x'));
    await turn.submit(echo('y'));
    expect(pipelines).toEqual([['x'], ['y']]);
  });

  it("one command's error reaches only its caller", async () => {
    const { client } = fakeClient();
    const turn = new TurnPipeline(client);
    const [good, bad] = await Promise.all([turn.submit(echo('ok')), turn.submit(echo('bad'))]);
    expect(good).toEqual([[null, 'ok']]);
    expect(bad[0][0]).toBeInstanceOf(Error);
  });

  it('a pipeline that fails as a whole rejects every caller of its turn', async () => {
    const { client } = fakeClient({ failExec: true });
    const turn = new TurnPipeline(client);
    const results = await Promise.allSettled([turn.submit(echo('a')), turn.submit(echo('b'))]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
  });
});
