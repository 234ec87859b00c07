// Static checks of the container setup. No Docker engine is needed (CI and dev boxes have none):
// docker-compose.yml is parsed as YAML and the Dockerfile as text.
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';

const root = path.resolve(__dirname, '..', '..');
const read = (file: string): string => readFileSync(path.join(root, file), 'utf8');

// ---------- docker-compose.yml ----------

interface Service {
  image?: string;
  build?: string | { context?: string; dockerfile?: string };
  command?: string | string[];
  environment?: Record<string, string | number | null> | string[];
  ports?: (string | number | { target?: number; published?: number | string })[];
  volumes?: (string | { type?: string; source?: string; target?: string })[];
  healthcheck?: { test?: string | string[]; disable?: boolean };
  depends_on?: string[] | Record<string, { condition?: string }>;
  profiles?: string[];
}
interface ComposeFile {
  version?: unknown;
  services?: Record<string, Service>;
  volumes?: Record<string, unknown>;
}

const compose = parse(read('docker-compose.yml')) as ComposeFile;
const services = compose.services ?? {};
const service = (name: string): Service => {
  const s = services[name];
  if (!s) throw new Error(`service "${name}" is missing from docker-compose.yml`);
  return s;
};

/** Environment in either map or `KEY=value` list form, as a map. */
function envOf(s: Service): Record<string, string> {
  const env = s.environment ?? {};
  if (Array.isArray(env)) {
    return Object.fromEntries(
      env.map((e) => {
        const i = e.indexOf('=');
        return i < 0 ? [e, ''] : [e.slice(0, i), e.slice(i + 1)];
      }),
    );
  }
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v == null ? '' : String(v)]));
}

/** Host ports a service publishes (short "host:container" or long syntax). */
function publishedPorts(s: Service): number[] {
  return (s.ports ?? []).map((p) => {
    if (typeof p === 'object') return Number(p.published);
    const parts = String(p).split('/')[0].split(':');
    // "3000" alone publishes an ephemeral host port: treat as not published.
    return parts.length >= 2 ? Number(parts[parts.length - 2]) : NaN;
  });
}

/** Named volumes mounted by a service (bind mounts start with ., / or ~). */
function namedVolumeMounts(s: Service): { source: string; target: string }[] {
  return (s.volumes ?? [])
    .map((v) => {
      if (typeof v === 'object') {
        return v.type === 'volume' || v.type === undefined ? { source: v.source ?? '', target: v.target ?? '' } : null;
      }
      const [source, target] = v.split(':');
      return { source, target: target ?? '' };
    })
    .filter((m): m is { source: string; target: string } => !!m && !!m.source && !/^[./~]/.test(m.source));
}

function imageMajor(image: string | undefined): number {
  const tag = (image ?? '').split(':')[1] ?? '';
  return Number.parseInt(tag, 10);
}

const commandText = (c: Service['command']): string => (Array.isArray(c) ? c.join(' ') : (c ?? ''));

// ---------- Dockerfile ----------

interface Instruction {
  op: string;
  args: string;
}

/** Instructions with line continuations joined and comments dropped. */
function parseDockerfile(text: string): Instruction[] {
  const logical: string[] = [];
  let current = '';
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line.startsWith('#') || (line === '' && current === '')) continue;
    if (line.endsWith('\\')) {
      current += line.slice(0, -1) + ' ';
      continue;
    }
    current += line;
    if (current.trim()) logical.push(current.trim());
    current = '';
  }
  if (current.trim()) logical.push(current.trim());
  return logical.map((l) => {
    const m = /^(\S+)\s*(.*)$/.exec(l)!;
    return { op: m[1].toUpperCase(), args: m[2] };
  });
}

interface Stage {
  name: string | undefined;
  index: number;
  instructions: Instruction[];
}

function stagesOf(instructions: Instruction[]): Stage[] {
  const stages: Stage[] = [];
  for (const ins of instructions) {
    if (ins.op === 'FROM') {
      const m = /\bAS\s+(\S+)\s*$/i.exec(ins.args);
      stages.push({ name: m?.[1], index: stages.length, instructions: [] });
    } else if (stages.length) {
      stages[stages.length - 1].instructions.push(ins);
    }
  }
  return stages;
}

/** `COPY [--flags] src... dest` (shell or JSON form) split into flags, sources and destination. */
function parseCopy(args: string): { flags: Record<string, string>; sources: string[]; dest: string } {
  const flags: Record<string, string> = {};
  let rest = args;
  for (let m = /^--([\w-]+)(?:=(\S+))?\s+/.exec(rest); m; m = /^--([\w-]+)(?:=(\S+))?\s+/.exec(rest)) {
    flags[m[1]] = m[2] ?? 'true';
    rest = rest.slice(m[0].length);
  }
  const parts = rest.trim().startsWith('[') ? (JSON.parse(rest) as string[]) : rest.trim().split(/\s+/);
  return { flags, sources: parts.slice(0, -1), dest: parts[parts.length - 1] };
}

const dockerfile = parseDockerfile(read('Dockerfile'));
const stages = stagesOf(dockerfile);
const finalStage = stages[stages.length - 1];

// Top-level paths the runtime image needs: built in the image (dist, node_modules) or from the repo.
const BUILD_PRODUCTS = ['dist', 'node_modules'];
// packages: the npm workspaces (the server imports @chat-backend/protocol's build at runtime).
const REPO_FILES = ['prisma', 'prisma.config.ts', 'package.json', 'packages'];

describe('docker-compose.yml', () => {
  it('uses the Compose spec (no version key) and defines postgres, redis and app', () => {
    expect(compose.version).toBeUndefined();
    expect(Object.keys(services)).toEqual(expect.arrayContaining(['postgres', 'redis', 'app']));
  });

  it('pins postgres to major 16 and redis to major 7', () => {
    expect(imageMajor(service('postgres').image)).toBe(16);
    expect(service('postgres').image).toMatch(/^postgres:/);
    expect(imageMajor(service('redis').image)).toBe(7);
    expect(service('redis').image).toMatch(/^redis:/);
  });

  it('runs redis with the append-only file on and the noeviction policy BullMQ needs', () => {
    const cmd = commandText(service('redis').command);
    expect(cmd).toMatch(/^redis-server\b/);
    expect(cmd).toMatch(/--appendonly\s+yes\b/);
    expect(cmd).toMatch(/--maxmemory-policy\s+noeviction\b/);
  });

  it.each(['postgres', 'redis'])('gives %s a healthcheck with a test command', (name) => {
    const hc = service(name).healthcheck;
    expect(hc).toBeDefined();
    expect(hc?.disable).not.toBe(true);
    const test = hc?.test;
    const command = Array.isArray(test) ? test.slice(1).join(' ') : (test ?? '');
    if (Array.isArray(test)) expect(['CMD', 'CMD-SHELL']).toContain(test[0]);
    expect(command.trim()).not.toBe('');
    expect(command).toContain(name === 'postgres' ? 'pg_isready' : 'redis-cli');
  });

  it.each([
    ['postgres', '/var/lib/postgresql/data'],
    ['redis', '/data'],
  ])('persists %s data in a declared named volume at %s', (name, target) => {
    const mount = namedVolumeMounts(service(name)).find((m) => m.target === target);
    expect(mount).toBeDefined();
    expect(Object.keys(compose.volumes ?? {})).toContain(mount!.source);
  });

  it('publishes 5432, 6379 and 3000 on the host', () => {
    expect(publishedPorts(service('postgres'))).toContain(5432);
    expect(publishedPorts(service('redis'))).toContain(6379);
    expect(publishedPorts(service('app'))).toContain(3000);
  });

  it('starts app only after postgres and redis are healthy, and by default', () => {
    const deps = service('app').depends_on;
    expect(deps).toBeDefined();
    expect(Array.isArray(deps)).toBe(false); // list form cannot carry a condition
    const map = deps as Record<string, { condition?: string }>;
    expect(map.postgres?.condition).toBe('service_healthy');
    expect(map.redis?.condition).toBe('service_healthy');
    expect(service('app').profiles ?? []).toEqual([]);
  });

  it('points app at the compose postgres and redis services', () => {
    const env = envOf(service('app'));
    const pgEnv = envOf(service('postgres'));
    const db = new URL(env.DATABASE_URL);
    expect(db.protocol).toMatch(/^postgres(ql)?:$/);
    expect(db.hostname).toBe('postgres');
    expect(db.port || '5432').toBe('5432');
    // credentials and database must match what the postgres container creates
    expect(decodeURIComponent(db.username)).toBe(pgEnv.POSTGRES_USER);
    expect(decodeURIComponent(db.password)).toBe(pgEnv.POSTGRES_PASSWORD);
    expect(db.pathname).toBe(`/${pgEnv.POSTGRES_DB}`);
    const redis = new URL(env.REDIS_URL);
    expect(redis.protocol).toBe('redis:');
    expect(redis.hostname).toBe('redis');
    expect(redis.port || '6379').toBe('6379');
  });

  it('requires JWT_SECRET from the environment instead of a literal', () => {
    const env = envOf(service('app'));
    expect(env.NODE_ENV).toBe('production');
    expect(env.JWT_SECRET).toMatch(/^\$\{JWT_SECRET(:-)?\}$/);
  });

  it('builds app from an existing context that has a Dockerfile', () => {
    const build = service('app').build;
    expect(build).toBeDefined();
    const context = typeof build === 'string' ? build : (build?.context ?? '.');
    const dockerfileName = typeof build === 'object' && build.dockerfile ? build.dockerfile : 'Dockerfile';
    const contextDir = path.resolve(root, context);
    expect(existsSync(contextDir) && statSync(contextDir).isDirectory()).toBe(true);
    expect(existsSync(path.join(contextDir, dockerfileName))).toBe(true);
  });

  describe('Dockerfile', () => {
    it('has at least two stages', () => {
      expect(stages.length).toBeGreaterThanOrEqual(2);
      expect(dockerfile.filter((i) => i.op === 'FROM').length).toBeGreaterThanOrEqual(2);
    });

    it('runs the final stage as a non-root user', () => {
      const users = finalStage.instructions.filter((i) => i.op === 'USER');
      expect(users.length).toBeGreaterThan(0);
      const user = users[users.length - 1].args.split(':')[0].trim();
      expect(user).not.toBe('');
      expect(['root', '0']).not.toContain(user);
    });

    it('installs dependencies from the lockfile with npm ci', () => {
      const runs = dockerfile.filter((i) => i.op === 'RUN').map((i) => i.args);
      expect(runs.some((r) => /\bnpm\s+ci\b/.test(r))).toBe(true);
      expect(runs.some((r) => /\bnpm\s+install\b/.test(r))).toBe(false);
    });

    it('exposes 3000 and has a HEALTHCHECK against /health in the final stage', () => {
      const exposed = finalStage.instructions
        .filter((i) => i.op === 'EXPOSE')
        .flatMap((i) => i.args.split(/\s+/).map((p) => Number.parseInt(p, 10)));
      expect(exposed).toContain(3000);
      const hc = finalStage.instructions.filter((i) => i.op === 'HEALTHCHECK');
      expect(hc).toHaveLength(1);
      expect(hc[0].args).not.toMatch(/^NONE\b/i);
      expect(hc[0].args).toMatch(/\bCMD\b/);
      expect(hc[0].args).toContain('/health');
    });

    it('copies into the runtime stage only what the repo has or the build produces', () => {
      const buildStages = stages.slice(0, -1);
      const copies = finalStage.instructions.filter((i) => i.op === 'COPY').map((i) => parseCopy(i.args));
      const fromBuild = copies.filter((c) => c.flags.from !== undefined);
      expect(fromBuild.length).toBeGreaterThan(0);
      const copied = new Set<string>();
      for (const c of fromBuild) {
        const source = buildStages.find((s) => s.name === c.flags.from || String(s.index) === c.flags.from);
        expect(source).toBeDefined();
        const workdirs = source!.instructions.filter((i) => i.op === 'WORKDIR').map((i) => i.args);
        const workdir = workdirs[workdirs.length - 1] ?? '/';
        for (const src of c.sources) {
          const rel = path.posix.relative(workdir, path.posix.resolve(workdir, src)).replace(/\/$/, '');
          expect([...BUILD_PRODUCTS, ...REPO_FILES]).toContain(rel);
          copied.add(rel);
        }
      }
      // everything the runtime needs is there
      expect([...copied].sort()).toEqual([...BUILD_PRODUCTS, ...REPO_FILES].sort());
      // repo files exist and are not kept out of the build context
      const ignored = read('.dockerignore')
        .split(/\r?\n/)
        .map((l) => l.trim().replace(/^\/|\/$/g, ''))
        .filter((l) => l && !l.startsWith('#'));
      for (const f of REPO_FILES) {
        expect(existsSync(path.join(root, f))).toBe(true);
        expect(ignored).not.toContain(f);
      }
      // build products are made in the build stage, not taken from the host
      const buildRuns = buildStages.flatMap((s) => s.instructions.filter((i) => i.op === 'RUN').map((i) => i.args));
      expect(buildRuns.some((r) => /\bnpm\s+run\s+build\b/.test(r))).toBe(true);
      expect(buildRuns.some((r) => /\bnpm\s+prune\b.*--omit=dev/.test(r))).toBe(true);
      expect(ignored).toEqual(expect.arrayContaining(['node_modules', 'dist', 'src/generated', '.env']));
    });

    it('starts the compiled server from dist as the final command', () => {
      const cmds = finalStage.instructions.filter((i) => i.op === 'CMD');
      expect(cmds.length).toBeGreaterThan(0);
      const cmd = cmds[cmds.length - 1].args;
      expect(cmd.startsWith('[')).toBe(true); // exec form: no extra shell wrapping around ours
      const argv = JSON.parse(cmd) as string[];
      expect(argv.join(' ')).toMatch(/\bnode dist\/src\/main\.js\b/);
    });
  });
});
