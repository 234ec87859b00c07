// nest-cli.json is read by Nest's own tooling (the CLI, schematics, editors). The project
// builds with plain `tsc` (see README, "Choices"), so the file must describe that same build:
// if the two drift apart, `nest build` or `nest start` would produce a different dist/.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(__dirname, '..', '..');
const json = <T>(file: string): T => JSON.parse(readFileSync(path.join(root, file), 'utf8')) as T;

interface NestCli {
  sourceRoot?: string;
  entryFile?: string;
  compilerOptions?: { builder?: string; tsConfigPath?: string };
}

describe('nest-cli.json', () => {
  const cli = json<NestCli>('nest-cli.json');
  const pkg = json<{ scripts: Record<string, string> }>('package.json');

  it('names the tsconfig that `npm run build` compiles with', () => {
    expect(cli.compilerOptions?.builder).toBe('tsc');
    expect(pkg.scripts.build).toContain(`tsc -p ${cli.compilerOptions?.tsConfigPath}`);
    expect(existsSync(path.join(root, cli.compilerOptions!.tsConfigPath!))).toBe(true);
  });

  it('points at the entry file that `npm start` runs', () => {
    expect(existsSync(path.join(root, cli.sourceRoot!, 'main.ts'))).toBe(true);
    // tsc keeps the src/ folder under dist/ because bench/ and test/ share the root tsconfig.
    expect(pkg.scripts['start:prod']).toContain(`dist/${cli.entryFile}.js`);
  });
});
