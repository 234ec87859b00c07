// Static checks of the container setup. No Docker engine is needed (CI and dev boxes have none):
// docker-compose.yml is parsed as YAML and the Dockerfile as text.
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { PERSIST_STOP_TIMEOUT_MS } from '../../src/persist-thread';

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
  restart?: string;
  stop_grace_period?: string;
}
interface ComposeFile {
  version?: unknown;
  services?: Record<string, Service>;
  volumes?: Record<string, unknown>;
}

// merge: the compose file shares the servers' settings through a `<<: *app` anchor.
const compose = parse(read('docker-compose.yml'), { merge: true }) as ComposeFile;
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

/** A `ports` entry as compose's short syntax (`host_ip:host:container`). */
const portText = (p: NonNullable<Service['ports']>[number]): string =>
  typeof p === 'object' ? `${p.published ?? ''}:${p.target ?? ''}` : String(p);

const commandText = (c: Service['command']): string => (Array.isArray(c) ? c.join(' ') : (c ?? ''));

/** Compose durations: `30s`, `1m30s`, `1500ms`. */
function durationS(d: string | undefined): number {
  let total = 0;
  for (const m of (d ?? '').matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)) {
    total += Number(m[1]) * { ms: 0.001, s: 1, m: 60, h: 3600 }[m[2] as 'ms' | 's' | 'm' | 'h'];
  }
  return total;
}

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
  const APPS = ['app-1', 'app-2'];

  it('uses the Compose spec (no version key) and defines the cluster', () => {
    expect(compose.version).toBeUndefined();
    expect(Object.keys(services).sort()).toEqual(
      ['app-1', 'app-2', 'lb', 'migrate', 'postgres', 'redis', 'worker'].sort(),
    );
  });

  it('pins postgres to major 16 and redis to major 7, and uses the official HAProxy image', () => {
    expect(imageMajor(service('postgres').image)).toBe(16);
    expect(service('postgres').image).toMatch(/^postgres:/);
    expect(imageMajor(service('redis').image)).toBe(7);
    expect(service('redis').image).toMatch(/^redis:/);
    expect(service('lb').image).toMatch(/^haproxy:\d/);
  });

  it('runs redis with the append-only file, the noeviction policy BullMQ needs, and a password', () => {
    const cmd = commandText(service('redis').command);
    expect(cmd).toMatch(/^redis-server\b/);
    expect(cmd).toMatch(/--appendonly\s+yes\b/);
    expect(cmd).toMatch(/--maxmemory-policy\s+noeviction\b/);
    expect(cmd).toMatch(/--requirepass\s+\$\{REDIS_PASSWORD:\?[^}]+\}/);
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

  it('checks the redis healthcheck with the password (redis-cli reads REDISCLI_AUTH)', () => {
    expect(envOf(service('redis')).REDISCLI_AUTH).toMatch(/^\$\{REDIS_PASSWORD(:\?[^}]+)?\}$/);
  });

  it.each([...APPS, 'worker'])('gives %s a healthcheck on /health/ready', (name) => {
    const test = service(name).healthcheck?.test;
    expect(commandText(test as string[])).toContain('/health/ready');
  });

  it.each([
    ['postgres', '/var/lib/postgresql/data'],
    ['redis', '/data'],
  ])('persists %s data in a declared named volume at %s', (name, target) => {
    const mount = namedVolumeMounts(service(name)).find((m) => m.target === target);
    expect(mount).toBeDefined();
    expect(Object.keys(compose.volumes ?? {})).toContain(mount!.source);
  });

  it('publishes only the load balancer, on 127.0.0.1 unless BIND_ADDR says otherwise', () => {
    const publishing = Object.entries(services)
      .filter(([, s]) => (s.ports ?? []).length > 0)
      .map(([name]) => name);
    expect(publishing).toEqual(['lb']);
    const ports = service('lb').ports ?? [];
    expect(ports).toHaveLength(1);
    expect(publishedPorts(service('lb'))).toHaveLength(1);
    expect(portText(ports[0])).toMatch(/^\$\{BIND_ADDR:-127\.0\.0\.1\}:\$\{PORT:-3000\}:\d+$/);
  });

  it('migrates once, before any server or worker starts', () => {
    const migrate = service('migrate');
    expect(commandText(migrate.command)).toMatch(/\bnode dist\/src\/cli\/db-prepare\.js\b/);
    expect(migrate.restart).toBe('no');
    for (const name of [...APPS, 'worker']) {
      const deps = service(name).depends_on as Record<string, { condition?: string }>;
      expect(Array.isArray(deps)).toBe(false);
      expect(deps.migrate?.condition).toBe('service_completed_successfully');
      expect(deps.postgres?.condition).toBe('service_healthy');
      expect(deps.redis?.condition).toBe('service_healthy');
      // The servers do not migrate themselves (the image's default command would).
      expect(commandText(service(name).command)).not.toContain('db-prepare');
    }
    const migrateDeps = migrate.depends_on as Record<string, { condition?: string }>;
    expect(migrateDeps.postgres?.condition).toBe('service_healthy');
  });

  it('runs two servers without the worker, and one worker process', () => {
    for (const name of APPS) {
      expect(envOf(service(name)).WORKER_ENABLED).toBe('false');
      expect(commandText(service(name).command)).toMatch(/\bnode dist\/src\/main\.js$/);
    }
    expect(commandText(service('worker').command)).toMatch(
      /\bnode --max-semi-space-size=4 dist\/src\/main\.js --worker$/,
    );
    expect(Number(envOf(service('worker')).WORKER_HTTP_PORT)).toBeGreaterThan(0);
    const lbDeps = service('lb').depends_on as Record<string, { condition?: string }>;
    for (const name of APPS) expect(lbDeps[name]?.condition).toBe('service_healthy');
  });

  it('points servers and worker at the compose postgres and redis, with the passwords from the environment', () => {
    const pgEnv = envOf(service('postgres'));
    expect(pgEnv.POSTGRES_PASSWORD).toMatch(/^\$\{POSTGRES_PASSWORD:\?[^}]+\}$/);
    for (const name of ['migrate', ...APPS, 'worker']) {
      const env = envOf(service(name));
      const db = new URL(env.DATABASE_URL.replace(/\$\{[^}]+\}/, 'SECRET'));
      expect(db.protocol).toMatch(/^postgres(ql)?:$/);
      expect(db.hostname).toBe('postgres');
      expect(decodeURIComponent(db.username)).toBe(pgEnv.POSTGRES_USER);
      expect(db.pathname).toBe(`/${pgEnv.POSTGRES_DB}`);
      expect(env.DATABASE_URL).toMatch(/:\$\{POSTGRES_PASSWORD:\?[^}]+\}@/);
      const redis = new URL(env.REDIS_URL.replace(/\$\{[^}]+\}/, 'SECRET'));
      expect(redis.hostname).toBe('redis');
      expect(env.REDIS_URL).toMatch(/^redis:\/\/:\$\{REDIS_PASSWORD:\?[^}]+\}@redis:6379$/);
      expect(env.NODE_ENV).toBe('production');
      expect(env.JWT_SECRET).toMatch(/^\$\{JWT_SECRET:\?[^}]+\}$/);
    }
  });

  it('holds no literal password or secret', () => {
    const secretish = /(PASSWORD|SECRET|TOKEN|requirepass)/i;
    const walk = (v: unknown, where: string): void => {
      if (Array.isArray(v)) return v.forEach((x, i) => walk(x, `${where}[${i}]`));
      if (v && typeof v === 'object') {
        for (const [k, x] of Object.entries(v)) {
          if (secretish.test(k) && typeof x === 'string') {
            expect({ where: `${where}.${k}`, value: x }).toEqual({
              where: `${where}.${k}`,
              value: expect.stringMatching(/^\$\{\w+(:[?-][^}]*)?\}$/),
            });
          }
          walk(x, `${where}.${k}`);
        }
      }
    };
    walk(services, 'services');
    // Inside URLs and command lines too: every password position is an interpolation.
    const text = read('docker-compose.yml');
    expect(text).not.toMatch(/postgres:postgres@/);
    expect(text).not.toMatch(/POSTGRES_PASSWORD:\s*postgres\b/);
    expect(commandText(service('redis').command)).not.toMatch(/--requirepass\s+[^$]/);
  });

  it('makes every required secret a clear error when missing (${VAR:?message})', () => {
    const text = read('docker-compose.yml');
    for (const name of ['POSTGRES_PASSWORD', 'REDIS_PASSWORD', 'JWT_SECRET']) {
      const uses = [...text.matchAll(new RegExp(`\\$\\{${name}([^}]*)\\}`, 'g'))].map((m) => m[1]);
      expect(uses.length).toBeGreaterThan(0);
      for (const u of uses) expect(u).toMatch(/^:\?\s*\S/);
    }
  });

  it('gives servers and worker more time to stop than their shutdown takes, and a bounded restart', () => {
    const budgetS = PERSIST_STOP_TIMEOUT_MS / 1000;
    for (const name of [...APPS, 'worker']) {
      const s = service(name);
      expect(durationS(s.stop_grace_period)).toBeGreaterThan(budgetS);
      expect(s.restart).toMatch(/^on-failure:\d+$/);
    }
  });

  it('has a development override that publishes postgres and redis on the loopback only', () => {
    const dev = parse(read('deploy/compose.dev.yml')) as ComposeFile;
    const ports = Object.values(dev.services ?? {}).flatMap((s) => s.ports ?? []);
    expect(ports.length).toBeGreaterThan(0);
    for (const p of ports) expect(portText(p)).toMatch(/^127\.0\.0\.1:/);
  });

  it.each(['migrate', ...APPS, 'worker'])('builds %s from an existing context that has a Dockerfile', (name) => {
    const build = service(name).build;
    expect(build).toBeDefined();
    const context = typeof build === 'string' ? build : (build?.context ?? '.');
    const dockerfileName = typeof build === 'object' && build.dockerfile ? build.dockerfile : 'Dockerfile';
    const contextDir = path.resolve(root, context);
    expect(existsSync(contextDir) && statSync(contextDir).isDirectory()).toBe(true);
    expect(existsSync(path.join(contextDir, dockerfileName))).toBe(true);
  });

  describe('the load balancer config', () => {
    const mount = (service('lb').volumes ?? [])
      .map((v) => (typeof v === 'string' ? v.split(':') : [v.source ?? '', v.target ?? '']))
      .find(([, target]) => target === '/usr/local/etc/haproxy/haproxy.cfg');
    const cfgPath = mount?.[0] ?? '';
    const cfg = existsSync(path.join(root, cfgPath)) ? read(cfgPath) : '';
    const lines = cfg
      .split('\n')
      .map((l) => l.replace(/#.*/, '').trim())
      .filter(Boolean);

    it('is mounted from the repository', () => {
      expect(cfgPath).toMatch(/^\.\/deploy\//);
      expect(cfg).not.toBe('');
    });

    it('listens on the port the compose file publishes', () => {
      const container = portText(service('lb').ports![0]).split(':').pop();
      expect(lines).toContain(`bind :${container}`);
    });

    it('balances both app instances, checked, with sticky sessions for long-polling', () => {
      for (const name of APPS) {
        expect(lines).toContainEqual(
          expect.stringMatching(new RegExp(`^server ${name} ${name}:3000 .*cookie ${name}`)),
        );
      }
      expect(lines).toContainEqual(expect.stringMatching(/^cookie SERVERID insert\b/));
      expect(lines).toContainEqual(expect.stringMatching(/^balance source$/));
      expect(lines).toContainEqual(expect.stringMatching(/^option httpchk GET \/health\b/));
      expect(lines).toContainEqual(expect.stringMatching(/^default-server check\b/));
    });

    it('lets WebSocket upgrades through as long-lived tunnels (HTTP mode, tunnel timeout)', () => {
      expect(lines).toContain('mode http');
      expect(lines).toContainEqual(expect.stringMatching(/^timeout tunnel \d+[smh]$/));
      // Nothing that would strip the Upgrade header or close upgraded connections.
      expect(cfg).not.toMatch(/del-header\s+(Upgrade|Connection)/i);
      expect(lines).not.toContain('option httpclose');
    });

    it('keeps /metrics off the public frontend', () => {
      expect(lines).toContainEqual(expect.stringMatching(/^http-request deny .*path_beg \/metrics/));
    });
  });

  describe('.env.example', () => {
    const example = read('.env.example');
    const listed = new Set([...example.matchAll(/^#?\s*([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1]));

    it('lists every variable the compose file interpolates', () => {
      const used = new Set([...read('docker-compose.yml').matchAll(/\$\{([A-Z][A-Z0-9_]*)/g)].map((m) => m[1]));
      expect([...used].filter((v) => !listed.has(v))).toEqual([]);
    });

    it('lists every variable the server reads (src/config/env.validation.ts)', () => {
      const source = read('src/config/env.validation.ts');
      const body = source.slice(source.indexOf('class EnvironmentVariables'), source.indexOf('\n}\n'));
      const declared = [...body.matchAll(/^\s+([A-Z][A-Z0-9_]*)\??\s*[=:;]/gm)].map((m) => m[1]);
      expect(declared).toEqual(expect.arrayContaining(['DATABASE_URL', 'JWT_SECRET', 'METRICS_TOKEN']));
      expect(declared.filter((v) => !listed.has(v))).toEqual([]);
    });

    it('leaves the secrets empty', () => {
      for (const name of ['POSTGRES_PASSWORD', 'REDIS_PASSWORD', 'JWT_SECRET']) {
        expect(example).toMatch(new RegExp(`^${name}=$`, 'm'));
      }
    });
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
