/**
 * Bench options: environment variables, overridden by `--flag=value` command-line flags
 * (`npm run bench -- --steps=500,1000 --targets=baseline`). Each flag is the variable's
 * name without `BENCH_`, lower-case, with dashes: BENCH_STEP_SECONDS → --step-seconds.
 */

export type Target = 'baseline' | 'baseline-redis' | 'server';
export type Scenario = 'delivery' | 'idle' | 'reconnect';

export interface BenchOptions {
  scenario: Scenario;
  targets: Target[];
  clients: number;
  roomSize: number;
  steps: number[];
  stepSeconds: number;
  warmupSeconds: number;
  graceMs: number;
  p99LimitMs: number;
  workers: number;
  connectConcurrency: number;
  databaseUrl: string;
  redisUrl: string;
  jwtSecret: string;
  drainTimeoutMs: number;
  resultsDir: string;
  serverPeers: number;
  /** Delivery: rounds of every target; the summary gives medians. */
  repeat: number;
  /** Delivery: the offered rate at which CPU per message is compared (goal 1). */
  cpuRate: number;
  /** idle / reconnect: connected sockets, one user each, each in `roomsPerSocket` rooms. */
  sockets: number;
  roomsPerSocket: number;
  /** idle: wait after the last join before memory is read. */
  settleMs: number;
  /** reconnect: the storm passes when every socket is back and synced within this. */
  reconnectLimitS: number;
  /** idle: V8 heap snapshots of each target, empty and connected, compared per socket. */
  heapSnapshots: boolean;
}

/** variable → [default, description]; the table is also the --help text. */
const VARIABLES: Record<string, [string, string]> = {
  BENCH_SCENARIO: [
    'delivery',
    'delivery (send rate steps), idle (memory per connected socket), reconnect (all sockets reconnect after a server restart), or reads (npm run bench:reads: inbox and history at 1M messages)',
  ],
  BENCH_TARGETS: [
    'baseline,server',
    'targets, in order: baseline (bare socket.io), baseline-redis (the same with the Redis adapter), server (dist/src/main.js)',
  ],
  BENCH_CLIENTS: ['1000', 'delivery: sockets, one user each'],
  BENCH_ROOM_SIZE: [
    '10',
    'members per room (delivery: clients / room size rooms); idle and reconnect default to 1000, capped at --sockets',
  ],
  BENCH_STEPS: ['250,500,750,1000,1500,2000,2500,3000,4000,5000', 'send rates in messages/s, ascending'],
  BENCH_STEP_SECONDS: ['5', 'send window of each step'],
  BENCH_WARMUP_SECONDS: ['3', 'unreported warm-up at the first step rate (JIT, pools); 0 = none'],
  BENCH_GRACE_MS: ['2000', 'wait after a step for late acks and receipts before counting missing'],
  BENCH_P99_LIMIT_MS: ['100', 'a step is sustained if delivery p99 <= this and nothing is missing'],
  BENCH_WORKERS: ['2', 'load generator processes (each owns whole rooms)'],
  BENCH_CONNECT_CONCURRENCY: ['100', 'socket handshakes in flight per worker'],
  BENCH_DATABASE_URL: ['postgresql://postgres@127.0.0.1:5432/chat_bench', 'dropped and recreated each run'],
  // Logical database 13 (tests use 15), not REDIS_URL: the bench deletes chat:* and bull:message-persist:*
  // keys before each run, which in a shared database would reset a developer's seq counters.
  BENCH_REDIS_URL: [
    'redis://127.0.0.1:6379/13',
    'Redis for the server; its chat:* and bull:message-persist:* keys are deleted',
  ],
  BENCH_JWT_SECRET: ['bench-secret-not-for-production-use', 'JWT_SECRET given to the server (>= 32 chars)'],
  BENCH_DRAIN_TIMEOUT_MS: ['60000', 'give up waiting for the persistence queue to drain after this'],
  BENCH_SERVER_PEERS: [
    '0',
    'idle extra server instances on the same Redis (no clients): the measured server then publishes every broadcast, as in a cluster',
  ],
  BENCH_RESULTS_DIR: [
    'bench/results',
    'where the JSON results, the plot and the server log go (relative to the repo root)',
  ],
  BENCH_REPEAT: ['1', 'delivery: rounds of every target (interleaved); the summary reports medians and min-max'],
  BENCH_CPU_RATE: [
    '1000',
    'delivery: offered rate (msg/s) at which CPU per message is compared (or the highest below)',
  ],
  BENCH_SOCKETS: ['10000', 'idle / reconnect: connected sockets, one user each'],
  BENCH_ROOMS_PER_SOCKET: ['', 'idle / reconnect: rooms each socket joins (default: idle 3, reconnect 1)'],
  BENCH_SETTLE_MS: ['3000', 'idle: wait after the last join before reading memory'],
  BENCH_RECONNECT_LIMIT_S: ['30', 'reconnect: every socket back in its rooms with sync done within this'],
  BENCH_HEAP_SNAPSHOTS: [
    '0',
    'idle: 1 = heap snapshots of each target (empty, connected) in the results folder, and what grew per socket',
  ],
};

export function usage(): string {
  const rows = Object.entries(VARIABLES).map(
    ([name, [def, what]]) => `  ${flagOf(name).padEnd(24)} ${name.padEnd(26)} ${what} [${def}]`,
  );
  return ['usage: node dist/bench/run.js [--flag=value ...]', '', '  flag                     env', ...rows].join('\n');
}

function flagOf(name: string): string {
  return (
    '--' +
    name
      .replace(/^BENCH_/, '')
      .toLowerCase()
      .replace(/_/g, '-')
  );
}

/** Reads `--flag=value` and `--flag value` pairs into BENCH_* names. */
function parseArgv(argv: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  const byFlag = new Map(Object.keys(VARIABLES).map((n) => [flagOf(n), n]));
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split(/=(.*)/s, 2);
    const name = byFlag.get(flag);
    if (!name) throw new Error(`unknown option ${argv[i]} (try --help)`);
    const value = inline ?? argv[++i];
    if (value === undefined) throw new Error(`${flag} needs a value`);
    out[name] = value;
  }
  return out;
}

function positiveInt(name: string, raw: string): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${name} must be a positive integer, got "${raw}"`);
  return n;
}

function nonNegativeInt(name: string, raw: string): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be an integer >= 0, got "${raw}"`);
  return n;
}

function parseSteps(raw: string): number[] {
  const steps = raw.split(',').map((s) => positiveInt('BENCH_STEPS', s.trim()));
  if (steps.some((s, i) => i > 0 && s <= steps[i - 1])) throw new Error('BENCH_STEPS must be ascending');
  return steps;
}

function parseTargets(raw: string): Target[] {
  const targets = raw.split(',').map((t) => t.trim());
  for (const t of targets) {
    if (!['baseline', 'baseline-redis', 'server'].includes(t)) throw new Error(`BENCH_TARGETS: unknown target "${t}"`);
  }
  return targets as Target[];
}

export function parseOptions(argv: string[], env: NodeJS.ProcessEnv): BenchOptions {
  const cli = parseArgv(argv);
  const given = (name: string) => cli[name] ?? env[name];
  const get = (name: string) => given(name) ?? VARIABLES[name][0];
  const scenario = get('BENCH_SCENARIO');
  if (!['delivery', 'idle', 'reconnect'].includes(scenario)) {
    throw new Error(`BENCH_SCENARIO: unknown scenario "${scenario}"`);
  }
  const fleet = scenario !== 'delivery';
  const sockets = positiveInt('BENCH_SOCKETS', get('BENCH_SOCKETS'));
  const opts: BenchOptions = {
    scenario: scenario as Scenario,
    targets: parseTargets(get('BENCH_TARGETS')),
    clients: positiveInt('BENCH_CLIENTS', get('BENCH_CLIENTS')),
    roomSize: fleet
      ? Math.min(sockets, positiveInt('BENCH_ROOM_SIZE', given('BENCH_ROOM_SIZE') ?? '1000'))
      : positiveInt('BENCH_ROOM_SIZE', get('BENCH_ROOM_SIZE')),
    steps: parseSteps(get('BENCH_STEPS')),
    stepSeconds: Number(get('BENCH_STEP_SECONDS')),
    warmupSeconds: Number(get('BENCH_WARMUP_SECONDS')),
    graceMs: positiveInt('BENCH_GRACE_MS', get('BENCH_GRACE_MS')),
    p99LimitMs: Number(get('BENCH_P99_LIMIT_MS')),
    workers: positiveInt('BENCH_WORKERS', get('BENCH_WORKERS')),
    connectConcurrency: positiveInt('BENCH_CONNECT_CONCURRENCY', get('BENCH_CONNECT_CONCURRENCY')),
    databaseUrl: get('BENCH_DATABASE_URL'),
    redisUrl: get('BENCH_REDIS_URL'),
    jwtSecret: get('BENCH_JWT_SECRET'),
    drainTimeoutMs: positiveInt('BENCH_DRAIN_TIMEOUT_MS', get('BENCH_DRAIN_TIMEOUT_MS')),
    resultsDir: get('BENCH_RESULTS_DIR'),
    serverPeers: nonNegativeInt('BENCH_SERVER_PEERS', get('BENCH_SERVER_PEERS')),
    repeat: positiveInt('BENCH_REPEAT', get('BENCH_REPEAT')),
    cpuRate: positiveInt('BENCH_CPU_RATE', get('BENCH_CPU_RATE')),
    sockets,
    roomsPerSocket: positiveInt(
      'BENCH_ROOMS_PER_SOCKET',
      given('BENCH_ROOMS_PER_SOCKET') || (scenario === 'idle' ? '3' : '1'),
    ),
    settleMs: nonNegativeInt('BENCH_SETTLE_MS', get('BENCH_SETTLE_MS')),
    reconnectLimitS: positiveInt('BENCH_RECONNECT_LIMIT_S', get('BENCH_RECONNECT_LIMIT_S')),
    heapSnapshots: ['1', 'true', 'yes'].includes(get('BENCH_HEAP_SNAPSHOTS')),
  };
  return opts.scenario === 'delivery' ? validate(opts) : validateFleet(opts);
}

/** idle / reconnect: rooms are whole (sockets a multiple of the room size), one room per layer. */
function validateFleet(o: BenchOptions): BenchOptions {
  if (o.roomSize < 2) throw new Error('BENCH_ROOM_SIZE must be at least 2');
  if (o.sockets % o.roomSize !== 0) {
    throw new Error(`BENCH_SOCKETS (${o.sockets}) must be a multiple of BENCH_ROOM_SIZE (${o.roomSize})`);
  }
  if (o.roomsPerSocket > 100) throw new Error('BENCH_ROOMS_PER_SOCKET: at most 100 (one sync call)');
  if (o.sockets < o.workers) throw new Error(`BENCH_WORKERS (${o.workers}) exceeds BENCH_SOCKETS (${o.sockets})`);
  const db = new URL(o.databaseUrl).pathname.slice(1);
  if (o.targets.includes('server') && !/bench/i.test(db)) {
    throw new Error(`BENCH_DATABASE_URL: database "${db}" is dropped each run, so its name must contain "bench"`);
  }
  if (o.jwtSecret.length < 32) throw new Error('BENCH_JWT_SECRET must be at least 32 characters');
  return o;
}

function validate(o: BenchOptions): BenchOptions {
  if (!(o.stepSeconds > 0)) throw new Error('BENCH_STEP_SECONDS must be a positive number');
  if (!(o.warmupSeconds >= 0)) throw new Error('BENCH_WARMUP_SECONDS must be a number >= 0');
  if (!(o.p99LimitMs > 0)) throw new Error('BENCH_P99_LIMIT_MS must be a positive number');
  if (o.roomSize < 2) throw new Error('BENCH_ROOM_SIZE must be at least 2 (a sender and a receiver)');
  if (o.clients % o.roomSize !== 0) {
    throw new Error(`BENCH_CLIENTS (${o.clients}) must be a multiple of BENCH_ROOM_SIZE (${o.roomSize})`);
  }
  const rooms = o.clients / o.roomSize;
  if (rooms < o.workers) throw new Error(`BENCH_WORKERS (${o.workers}) exceeds the number of rooms (${rooms})`);
  const db = new URL(o.databaseUrl).pathname.slice(1);
  if (o.targets.includes('server') && !/bench/i.test(db)) {
    throw new Error(`BENCH_DATABASE_URL: database "${db}" is dropped each run, so its name must contain "bench"`);
  }
  if (o.jwtSecret.length < 32)
    throw new Error('BENCH_JWT_SECRET must be at least 32 characters (the server refuses shorter)');
  return o;
}
