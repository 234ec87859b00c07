/**
 * Scenarios "idle" and "reconnect": many sockets of distinct users, each in a few rooms of up
 * to 1,000 members, connected from forked fleet workers (bench/fleet-worker.ts).
 *
 * - idle: the target's resident memory before any connection (its empty footprint), after
 *   every socket connected and joined its rooms, and per socket above empty; the time to
 *   connect and join, the CPU it took, and the events the sockets got meanwhile (the join
 *   storm: timeline `joinRoom` and `presence`).
 * - reconnect: once every socket is in its rooms, the target is restarted (SIGTERM, started
 *   again on the same port). The storm lasts until every socket has reconnected, joined its
 *   rooms again and had its `sync` answered; it reports that time and every event the
 *   clients got meanwhile.
 */
import { type ChildProcess, execFile, fork } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { promisify } from 'node:util';
import * as path from 'node:path';
import { columns, GOAL_LIMITS, type Verdict } from './goals';
import type { BenchOptions, Target } from './options';
import { freePort, startBaseline, startServer, stopProcess, track, type ServerEnv, type Started } from './processes';
import type { EventCounts, FleetCommand, FleetProgress, FleetReport, FleetSocket } from './protocol';
import { ResourceSampler } from './resources';
import { cleanRedis, fleetRoomIndex, resetDatabase, seedFleet } from './setup';
import { nowMs } from './stats';
import { mintToken, benchUsername } from './topology';

/** Connecting (and, on the unfixed server, the join storm) can take minutes at 10,000 sockets. */
const CONNECT_TIMEOUT_MS = 15 * 60_000;
/**
 * Before the empty reading. V8's memory reducer hands start-up garbage back some 15 s after
 * boot, in the persistence thread too, which the forced GC (main thread only) cannot reach.
 */
const BOOT_SETTLE_MS = 20_000;
/** RSS after a forced GC counts as settled once it fell by no more than 1 MiB for this long. */
const GC_SETTLE_MS = 3000;
const GC_SETTLE_MAX_MS = 30_000;
/** Worker reports come every 500 ms: quiet means three reports without a new event. */
const QUIET_MS = 1500;
const PROGRESS_EVERY_MS = 2000;
const CONNECT_PROGRESS_MS = 10_000;

export interface IdleReport {
  target: Target;
  sockets: number;
  /** The target's RSS after start, before any connection. */
  emptyRssMiB: number | null;
  /** After every socket connected and joined, and `settleMs` more. */
  connectedRssMiB: number | null;
  peakRssMiB: number | null;
  /** RSS growth per socket: anonymous memory plus whatever file-backed pages moved meanwhile. */
  perSocketKiB: number | null;
  /** The anonymous part of RSS, empty and connected (see memoryKiB). */
  emptyAnonMiB: number | null;
  connectedAnonMiB: number | null;
  /** Anonymous memory per socket: what connections cost, without file pages' comings and goings. */
  perSocketAnonKiB: number | null;
  connectMs: number;
  /** Handshakes that timed out or failed and were tried again (at most 3 tries each). */
  connectRetries: number;
  /** CPU seconds spent while connecting: the target's (main + threads), PostgreSQL's, Redis's. */
  cpuSeconds: { target: number | null; postgres: number | null; redis: number | null };
  events: EventCounts;
  /** With --heap-snapshots: the two snapshots and what grew per socket, by constructor. */
  heap?: { empty: string; connected: string; summary: string };
}

export interface ReconnectReport {
  target: Target;
  sockets: number;
  connectMs: number;
  connectRetries: number;
  /** Events while connecting the first time (the initial join storm). */
  connectEvents: EventCounts;
  /** From SIGTERM: the old process gone, the new one answering. */
  stoppedMs: number;
  restartedMs: number;
  /** From SIGTERM until the last socket was back in its rooms with sync done; null = not all came back. */
  stormMs: number | null;
  back: number;
  dropped: number;
  reconnections: number;
  joinErrors: number;
  syncErrors: number;
  /** Events the clients got from SIGTERM until the last socket was back. */
  events: EventCounts;
  messages: number;
  verdict: Verdict;
  errorSamples: string[];
}

// ---------------------------------------------------------------- limits

/** The soft limit on open files of this process (its children inherit it). */
function openFileLimit(): number | null {
  const m = /Max open files\s+(\d+|unlimited)/.exec(safeRead('/proc/self/limits') ?? '');
  if (!m) return null;
  return m[1] === 'unlimited' ? Infinity : Number(m[1]);
}

function ephemeralPorts(): number | null {
  const m = /(\d+)\s+(\d+)/.exec(safeRead('/proc/sys/net/ipv4/ip_local_port_range') ?? '');
  return m ? Number(m[2]) - Number(m[1]) + 1 : null;
}

function safeRead(file: string): string | null {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return null;
  }
}

/**
 * Every socket is a file descriptor in the target and in its fleet worker, and takes an
 * ephemeral port from 127.0.0.1 to the target's port (a reconnection storm briefly needs
 * fresh ones while the old connections sit in TIME_WAIT). Refuses a run the limits cannot hold.
 */
export function checkLimits(opts: BenchOptions): string {
  const files = openFileLimit();
  const ports = ephemeralPorts();
  const perWorker = Math.ceil(opts.sockets / opts.workers);
  const needServer = opts.sockets + 256; // + database pool, Redis, log, libuv
  if (files !== null && needServer > files) {
    throw new Error(
      `ulimit -n is ${files}: the target needs ~${needServer} descriptors for ${opts.sockets} sockets ` +
        `(raise it, e.g. ulimit -n ${needServer * 2}, or use fewer --sockets)`,
    );
  }
  const storm = opts.scenario === 'reconnect' ? 2 : 1;
  if (ports !== null && opts.sockets * storm > ports) {
    throw new Error(
      `${ports} ephemeral ports (net.ipv4.ip_local_port_range) cannot hold ${opts.sockets * storm} connections to one address`,
    );
  }
  return `limits: ulimit -n ${files ?? '?'} (target needs ~${needServer}, each of ${opts.workers} workers ~${perWorker + 64}), ${ports ?? '?'} ephemeral ports (needs ~${opts.sockets * storm})`;
}

// ---------------------------------------------------------------- the fleet

function rssKiB(pid: number | undefined): number | null {
  return memoryKiB(pid)?.rss ?? null;
}

/**
 * RSS, and its anonymous part (heap, stacks, buffers: what connections allocate). The rest is
 * file-backed (the node binary's code, mapped libraries), which the kernel pages out when cold
 * and back in when used: on a machine that reclaims proactively (DAMON `pageout`), tens of MiB
 * of it come and go between two readings of the same process.
 */
function memoryKiB(pid: number | undefined): { rss: number; anon: number } | null {
  const status = safeRead(`/proc/${pid}/status`) ?? '';
  const rss = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
  const anon = Number(/RssAnon:\s+(\d+)/.exec(status)?.[1] ?? NaN);
  return Number.isFinite(rss) && Number.isFinite(anon) ? { rss, anon } : null;
}

function addCounts(into: EventCounts, from: EventCounts): EventCounts {
  for (const [k, v] of Object.entries(from)) into[k] = (into[k] ?? 0) + v;
  return into;
}

function subtract(a: EventCounts, b: EventCounts): EventCounts {
  const out: EventCounts = {};
  for (const [k, v] of Object.entries(a)) if (v - (b[k] ?? 0) > 0) out[k] = v - (b[k] ?? 0);
  return out;
}

const total = (e: EventCounts) => Object.values(e).reduce((n, v) => n + v, 0);

const messagesIn = (e: EventCounts) =>
  Object.entries(e).reduce((n, [k, v]) => (k === 'message' || k.startsWith('message:') ? n + v : n), 0);

class Fleet {
  private latest: (FleetProgress | null)[];
  private connecting: { joined: number; events: number }[];
  private failure: Error | null = null;

  private constructor(private readonly children: ChildProcess[]) {
    this.latest = children.map(() => null);
    this.connecting = children.map(() => ({ joined: 0, events: 0 }));
    children.forEach((c, i) => {
      c.on('message', (m: FleetReport) => {
        if (m.kind === 'progress') this.latest[i] = m.progress;
        else if (m.kind === 'connecting') this.connecting[i] = m;
        else if (m.kind === 'error') this.failure = new Error(`fleet worker ${c.pid}: ${m.message}`);
      });
      c.once('exit', (code, signal) => {
        if (!this.stopping) this.failure ??= new Error(`fleet worker ${c.pid} exited (${code ?? signal})`);
      });
    });
  }

  private stopping = false;

  static async start(
    url: string,
    sockets: FleetSocket[],
    opts: BenchOptions,
    reconnect: boolean,
  ): Promise<{ fleet: Fleet; connectMs: number; connectRetries: number; events: EventCounts }> {
    const script = path.join(__dirname, 'fleet-worker.js');
    const slices: FleetSocket[][] = Array.from({ length: opts.workers }, () => []);
    sockets.forEach((s, i) => slices[i % opts.workers].push(s));
    const children = slices.map(() => track(fork(script, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })));
    const fleet = new Fleet(children);
    const started = Date.now();
    // Connecting 10,000 sockets into a join storm takes minutes: say how far it got.
    const say = setInterval(() => {
      const joined = fleet.connecting.reduce((n, c) => n + c.joined, 0);
      const events = fleet.connecting.reduce((n, c) => n + c.events, 0);
      console.log(
        `  ... +${Math.round((Date.now() - started) / 1000)} s: ${joined} of ${sockets.length} sockets joined, ${events} events received`,
      );
    }, CONNECT_PROGRESS_MS);
    try {
      const ready = await Promise.all(
        children.map((c, i) => {
          const cmd: FleetCommand = {
            kind: 'init',
            url,
            sockets: slices[i],
            concurrency: opts.connectConcurrency,
            reconnect,
          };
          const p = fleet.await(c, 'ready', CONNECT_TIMEOUT_MS);
          c.send(cmd);
          return p;
        }),
      );
      const events = ready.reduce((acc, r) => addCounts(acc, r.events), {} as EventCounts);
      const connectRetries = ready.reduce((n, r) => n + r.connectRetries, 0);
      return { fleet, connectMs: Date.now() - started, connectRetries, events };
    } catch (err) {
      await fleet.stop();
      throw err;
    } finally {
      clearInterval(say);
    }
  }

  get pids(): number[] {
    return this.children.flatMap((c) => (c.pid === undefined ? [] : [c.pid]));
  }

  private await<K extends FleetReport['kind']>(
    child: ChildProcess,
    kind: K,
    timeoutMs: number,
  ): Promise<Extract<FleetReport, { kind: K }>> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => finish(new Error(`fleet worker ${child.pid}: no "${kind}" within ${timeoutMs} ms`)),
        timeoutMs,
      );
      const onMessage = (m: FleetReport) => {
        if (m.kind === 'error') finish(new Error(`fleet worker ${child.pid}: ${m.message}`));
        else if (m.kind === kind) finish(null, m as Extract<FleetReport, { kind: K }>);
      };
      const onExit = (code: number | null) =>
        finish(new Error(`fleet worker ${child.pid} exited (${code}) waiting for "${kind}"`));
      const finish = (err: Error | null, m?: Extract<FleetReport, { kind: K }>) => {
        clearTimeout(timer);
        child.off('message', onMessage);
        child.off('exit', onExit);
        if (err) reject(err);
        else resolve(m!);
      };
      child.on('message', onMessage);
      child.once('exit', onExit);
    });
  }

  /** Arms every worker and waits for its first progress report, so no disconnect goes uncounted. */
  async arm(): Promise<void> {
    await Promise.all(
      this.children.map((c) => {
        const p = this.await(c, 'progress', 10_000);
        c.send({ kind: 'arm' } satisfies FleetCommand);
        return p;
      }),
    );
  }

  /** Waits until no event has arrived for `forMs` (at most `maxMs`); returns the counts then. */
  async quiet(forMs: number, maxMs: number): Promise<EventCounts> {
    const until = nowMs() + maxMs;
    let last = total(this.progress().events);
    let since = nowMs();
    while (nowMs() < until) {
      await new Promise((r) => setTimeout(r, 250));
      const now = total(this.progress().events);
      if (now !== last) [last, since] = [now, nowMs()];
      else if (nowMs() - since >= forMs) break;
    }
    return { ...this.progress().events };
  }

  progress(): FleetProgress {
    if (this.failure) throw this.failure;
    const sum = (f: (p: FleetProgress) => number) => this.latest.reduce((n, p) => n + (p ? f(p) : 0), 0);
    const max = (f: (p: FleetProgress) => number) => Math.max(0, ...this.latest.map((p) => (p ? f(p) : 0)));
    return {
      sockets: sum((p) => p.sockets),
      disconnected: sum((p) => p.disconnected),
      reconnected: sum((p) => p.reconnected),
      resynced: sum((p) => p.resynced),
      firstDisconnectAt: Math.min(...this.latest.map((p) => p?.firstDisconnectAt || Infinity)),
      lastReconnectAt: max((p) => p.lastReconnectAt),
      lastResyncAt: max((p) => p.lastResyncAt),
      joinErrors: sum((p) => p.joinErrors),
      syncErrors: sum((p) => p.syncErrors),
      events: this.latest.reduce((acc, p) => (p ? addCounts(acc, p.events) : acc), {} as EventCounts),
      errorSamples: this.latest.flatMap((p) => p?.errorSamples ?? []).slice(0, 5),
    };
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all(
      this.children.map(async (c) => {
        if (c.exitCode !== null || c.signalCode !== null) return;
        const exited = new Promise((resolve) => c.once('exit', resolve));
        if (c.connected) c.send({ kind: 'stop' } satisfies FleetCommand);
        await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
        await stopProcess(c, 3000);
      }),
    );
  }
}

// ---------------------------------------------------------------- targets

/** The reconnect storm is given up on after 3x its limit, and at least 2 minutes. */
const stormTimeoutMs = (opts: BenchOptions) => Math.max(3 * opts.reconnectLimitS * 1000, 120_000);

interface Running {
  started: Started;
  sockets: FleetSocket[];
  /** Stops the target and starts it again on the same port (reconnect). */
  restart: () => Promise<{ stoppedMs: number; started: Started }>;
  stop: () => Promise<void>;
}

function layout(userIds: number[], roomIds: number[], opts: BenchOptions): FleetSocket[] {
  return userIds.map((userId, i) => ({
    userId,
    token: mintToken({ id: userId, username: benchUsername(i + 1) }, opts.jwtSecret),
    rooms: Array.from(
      { length: opts.roomsPerSocket },
      (_, j) => roomIds[fleetRoomIndex(i, j, opts.sockets, opts.roomSize, opts.roomsPerSocket)],
    ),
  }));
}

async function startTarget(
  target: Target,
  opts: BenchOptions,
  repoRoot: string,
  logFile: string,
  collectable = false,
): Promise<Running> {
  const rooms = (opts.sockets / opts.roomSize) * opts.roomsPerSocket;
  const nodeArgs = opts.heapSnapshots
    ? ['--heapsnapshot-signal=SIGWINCH', `--diagnostic-dir=${path.dirname(path.resolve(logFile))}`]
    : [];
  if (collectable) nodeArgs.push('--expose-gc', '-r', path.join(__dirname, 'gc-on-signal.js'));
  if (target !== 'server') {
    const redis = target === 'baseline-redis' ? opts.redisUrl : undefined;
    const ids = (n: number) => Array.from({ length: n }, (_, i) => i + 1);
    let started = await startBaseline(redis, 0, nodeArgs);
    const port = Number(new URL(started.url).port);
    return {
      started,
      sockets: layout(ids(opts.sockets), ids(rooms), opts),
      restart: async () => {
        const t0 = nowMs();
        await stopProcess(started.child);
        const stoppedMs = nowMs() - t0;
        started = await startBaseline(redis, port);
        return { stoppedMs, started };
      },
      stop: () => stopProcess(started.child),
    };
  }
  if (!existsSync(path.join(repoRoot, 'dist/src/main.js'))) {
    throw new Error('dist/src/main.js not found: build the server first (npx tsc -p tsconfig.json)');
  }
  const db = new URL(opts.databaseUrl).pathname.slice(1);
  console.log(`[server] recreating database ${db} and migrating`);
  await resetDatabase(opts.databaseUrl, repoRoot);
  await cleanRedis(opts.redisUrl);
  const t = Date.now();
  const { userIds, roomIds } = await seedFleet(opts.databaseUrl, opts.sockets, opts.roomSize, opts.roomsPerSocket);
  console.log(
    `[server] seeded ${userIds.length} users, ${roomIds.length} rooms of ${opts.roomSize} ` +
      `(${opts.roomsPerSocket} per user) in ${Date.now() - t} ms`,
  );
  const env: ServerEnv = {
    port: await freePort(),
    databaseUrl: opts.databaseUrl,
    redisUrl: opts.redisUrl,
    jwtSecret: opts.jwtSecret,
    logFile,
    nodeArgs,
  };
  let started = await startServer(repoRoot, env);
  console.log(`[server] dist/src/main.js healthy at ${started.url} (log: ${path.relative(repoRoot, logFile)})`);
  return {
    started,
    sockets: layout(userIds, roomIds, opts),
    restart: async () => {
      const t0 = nowMs();
      await stopProcess(started.child);
      const stoppedMs = nowMs() - t0;
      // It boots into a storm of reconnecting sockets: give it as long as the storm may take.
      const logAgain = logFile.replace(/\.log$/, '-restarted.log');
      started = await startServer(repoRoot, { ...env, logFile: logAgain }, {}, stormTimeoutMs(opts));
      return { stoppedMs, started };
    },
    stop: () => stopProcess(started.child),
  };
}

// ---------------------------------------------------------------- heap snapshots

/**
 * Memory once the target ran a full GC (SIGURG, see gc-on-signal.ts) and handed the freed
 * pages back, which V8 and the allocator do over several seconds: read until the anonymous
 * memory stops falling. The same state for the empty and the connected reading.
 */
async function memoryAfterGc(pid: number | undefined): Promise<{ rss: number; anon: number } | null> {
  if (!pid) return null;
  process.kill(pid, 'SIGURG');
  const deadline = Date.now() + GC_SETTLE_MAX_MS;
  let low = memoryKiB(pid);
  let lowSince = Date.now();
  while (low !== null && Date.now() < deadline && Date.now() - lowSince < GC_SETTLE_MS) {
    await new Promise((r) => setTimeout(r, 250));
    const now = memoryKiB(pid);
    if (now === null) return null;
    if (now.anon < low.anon - 1024) lowSince = Date.now(); // still falling by more than 1 MiB
    if (now.anon <= low.anon) low = now;
  }
  return low;
}

/**
 * Asks the target for a heap snapshot (it runs with --heapsnapshot-signal=SIGWINCH) and waits
 * until the file is complete (its size stops changing). The snapshot starts with a full GC,
 * so it holds what is live, not what RSS still holds.
 */
async function heapSnapshot(pid: number, dir: string): Promise<string> {
  const mine = () => new Set(readdirSync(dir).filter((f) => f.endsWith('.heapsnapshot') && f.includes(`.${pid}.`)));
  const before = mine();
  process.kill(pid, 'SIGWINCH');
  const deadline = Date.now() + 120_000;
  let file: string | undefined;
  let size = -1;
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 1000));
    file ??= [...mine()].find((f) => !before.has(f));
    if (!file) continue;
    const now = statSync(path.join(dir, file)).size;
    if (now === size && now > 0) return path.join(dir, file);
    size = now;
  }
  throw new Error(`no heap snapshot from ${pid} within 120 s`);
}

/** Compared in a process of its own: parsing a snapshot takes several times its size. */
async function heapSummary(empty: string, connected: string, sockets: number): Promise<string> {
  const script = path.join(__dirname, 'heap-summary.js');
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--max-old-space-size=6144', script, empty, connected, String(sockets)],
    { maxBuffer: 1 << 20 },
  );
  return stdout.trimEnd();
}

// ---------------------------------------------------------------- scenarios

async function idle(target: Target, opts: BenchOptions, repoRoot: string, logFile: string): Promise<IdleReport> {
  const running = await startTarget(target, opts, repoRoot, logFile, true);
  let fleet: Fleet | undefined;
  try {
    const pid = running.started.child.pid;
    const dir = path.dirname(path.resolve(logFile));
    // The footprint once start-up work (JIT, pools) has settled, with no garbage waiting.
    await new Promise((r) => setTimeout(r, BOOT_SETTLE_MS));
    const emptyMemory = await memoryAfterGc(pid);
    const empty = emptyMemory?.rss ?? null;
    const emptySnapshot = opts.heapSnapshots && pid ? await heapSnapshot(pid, dir) : null;
    let peak = empty ?? 0;
    const peakTimer = setInterval(() => (peak = Math.max(peak, rssKiB(pid) ?? 0)), 250);
    const sampler = new ResourceSampler(pid, []);
    const mark = sampler.mark();
    const started = await Fleet.start(running.started.url, running.sockets, opts, false).finally(() =>
      clearInterval(peakTimer),
    );
    fleet = started.fleet;
    const use = sampler.since(mark);
    const seconds = started.connectMs / 1000;
    const cpu = (share: number | null) => (share === null ? null : share * seconds);
    console.log(
      `[${target}] ${opts.sockets} sockets connected and joined in ${started.connectMs} ms ` +
        `(${started.connectRetries} handshakes retried); settling ${opts.settleMs} ms`,
    );
    await new Promise((r) => setTimeout(r, opts.settleMs));
    const connectedMemory = await memoryAfterGc(pid);
    const connected = connectedMemory?.rss ?? null;
    peak = Math.max(peak, connected ?? 0);
    let heap: IdleReport['heap'];
    if (emptySnapshot && pid) {
      const connectedSnapshot = await heapSnapshot(pid, dir);
      const summary = await heapSummary(emptySnapshot, connectedSnapshot, opts.sockets);
      console.log(`[${target}] ${summary.replace(/\n/g, `\n[${target}] `)}`);
      heap = { empty: emptySnapshot, connected: connectedSnapshot, summary };
    }
    return {
      target,
      sockets: opts.sockets,
      emptyRssMiB: empty === null ? null : empty / 1024,
      connectedRssMiB: connected === null ? null : connected / 1024,
      peakRssMiB: peak ? peak / 1024 : null,
      perSocketKiB: empty === null || connected === null ? null : (connected - empty) / opts.sockets,
      emptyAnonMiB: emptyMemory ? emptyMemory.anon / 1024 : null,
      connectedAnonMiB: connectedMemory ? connectedMemory.anon / 1024 : null,
      perSocketAnonKiB:
        emptyMemory && connectedMemory ? (connectedMemory.anon - emptyMemory.anon) / opts.sockets : null,
      connectMs: started.connectMs,
      connectRetries: started.connectRetries,
      cpuSeconds: {
        target: use.cpuMain === null ? null : cpu(use.cpuMain + (use.cpuOtherThreads ?? 0)),
        postgres: target === 'server' ? cpu(use.cpuPostgres) : null,
        redis: target === 'baseline' ? null : cpu(use.cpuRedis),
      },
      events: started.events,
      heap,
    };
  } finally {
    await fleet?.stop();
    await running.stop();
  }
}

async function reconnect(
  target: Target,
  opts: BenchOptions,
  repoRoot: string,
  logFile: string,
): Promise<ReconnectReport> {
  const running = await startTarget(target, opts, repoRoot, logFile);
  let fleet: Fleet | undefined;
  try {
    const started = await Fleet.start(running.started.url, running.sockets, opts, true);
    fleet = started.fleet;
    console.log(
      `[${target}] ${opts.sockets} sockets connected and joined in ${started.connectMs} ms, ${started.connectRetries} handshakes retried ` +
        `(${messagesIn(started.events)} message events meanwhile); restarting the target`,
    );
    await fleet.arm();
    // Broadcasts of the first joins (and presence) can trail the last join's ack: the storm's
    // events are counted from when the sockets have been quiet for a second.
    const before = await fleet.quiet(QUIET_MS, 60_000);
    const t0 = nowMs();
    const { stoppedMs, started: again } = await running.restart();
    const restartedMs = nowMs() - t0;
    console.log(
      `[${target}] stopped in ${Math.round(stoppedMs)} ms, answering again ${Math.round(restartedMs)} ms after SIGTERM`,
    );
    const deadline = t0 + stormTimeoutMs(opts);
    let p = fleet.progress();
    let nextPrint = nowMs() + PROGRESS_EVERY_MS;
    while (!(p.resynced === opts.sockets) && nowMs() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      p = fleet.progress();
      if (nowMs() >= nextPrint) {
        nextPrint += PROGRESS_EVERY_MS;
        console.log(
          `[${target}] +${((nowMs() - t0) / 1000).toFixed(1)} s: ${p.disconnected} dropped, ` +
            `${p.resynced} back and synced, ${messagesIn(p.events)} message events`,
        );
      }
    }
    // The workers report every 500 ms: wait for the reports that cover the end.
    await new Promise((r) => setTimeout(r, 600));
    p = fleet.progress();
    const allBack = p.resynced === opts.sockets;
    const stormMs = allBack ? Math.round(p.lastResyncAt - t0) : null;
    void again;
    const events = subtract(p.events, before);
    return {
      target,
      sockets: opts.sockets,
      connectMs: started.connectMs,
      connectRetries: started.connectRetries,
      connectEvents: started.events,
      stoppedMs: Math.round(stoppedMs),
      restartedMs: Math.round(restartedMs),
      stormMs,
      back: p.resynced,
      dropped: p.disconnected,
      reconnections: p.reconnected,
      joinErrors: p.joinErrors,
      syncErrors: p.syncErrors,
      events,
      messages: messagesIn(events),
      verdict: stormMs !== null && stormMs <= opts.reconnectLimitS * 1000 ? 'PASS' : 'MISS',
      errorSamples: p.errorSamples,
    };
  } finally {
    await fleet?.stop();
    await running.stop();
  }
}

// ---------------------------------------------------------------- report

const n = (v: number | null | undefined, digits = 0) => (v === null || v === undefined ? '-' : v.toFixed(digits));
const eventsText = (e: EventCounts) =>
  Object.entries(e)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k} ${v}`)
    .join(', ') || 'none';

function idleText(reports: IdleReport[], opts: BenchOptions): string {
  const rows = [
    [
      'target',
      'empty MiB',
      'connected MiB',
      'peak MiB',
      'KiB/socket',
      'anon MiB (empty/connected)',
      'anon KiB/socket',
      'connect+join s',
      'CPU s (target/pg/redis)',
      'events received',
    ],
    ...reports.map((r) => [
      r.target,
      n(r.emptyRssMiB, 1),
      n(r.connectedRssMiB, 1),
      n(r.peakRssMiB, 1),
      n(r.perSocketKiB, 1),
      `${n(r.emptyAnonMiB, 1)}/${n(r.connectedAnonMiB, 1)}`,
      n(r.perSocketAnonKiB, 1),
      n(r.connectMs / 1000, 1),
      `${n(r.cpuSeconds.target, 1)}/${n(r.cpuSeconds.postgres, 1)}/${n(r.cpuSeconds.redis, 1)}`,
      eventsText(r.events),
    ]),
  ];
  const server = reports.find((r) => r.target === 'server');
  const v = server?.perSocketAnonKiB;
  const verdict: Verdict = v === null || v === undefined ? 'n/a' : v <= GOAL_LIMITS.idleKiBPerSocket ? 'PASS' : 'MISS';
  return [
    `idle: ${opts.sockets} sockets (distinct users), each in ${opts.roomsPerSocket} room(s) of ${opts.roomSize}`,
    columns(rows),
    `goal 3 (issue 11): server memory per idle connection above its empty footprint ${n(v, 1)} KiB ` +
      `anonymous, ${n(server?.perSocketKiB, 1)} KiB of RSS (at most ${GOAL_LIMITS.idleKiBPerSocket} KiB): ${verdict}`,
  ].join('\n');
}

function reconnectText(reports: ReconnectReport[], opts: BenchOptions): string {
  const rows = [
    [
      'target',
      'connect s',
      'stopped s',
      'answering s',
      'all back+synced s',
      '(after answering)',
      'back',
      'reconnects',
      'message events',
      'joinRoom events',
      'verdict',
    ],
    ...reports.map((r) => [
      r.target,
      n(r.connectMs / 1000, 1),
      n(r.stoppedMs / 1000, 1),
      n(r.restartedMs / 1000, 1),
      r.stormMs === null ? 'not all' : n(r.stormMs / 1000, 1),
      r.stormMs === null ? '-' : n((r.stormMs - r.restartedMs) / 1000, 1),
      `${r.back}/${r.sockets}`,
      String(r.reconnections),
      String(r.messages),
      String(r.events['message:joinRoom'] ?? 0),
      r.verdict,
    ]),
  ];
  const lines = [
    `reconnect: ${opts.sockets} sockets (distinct users), each in ${opts.roomsPerSocket} room(s) of ${opts.roomSize}; ` +
      `times from SIGTERM; goal: every socket back in its rooms with sync done within ${opts.reconnectLimitS} s`,
    columns(rows),
  ];
  for (const r of reports) {
    lines.push(`  ${r.target} events during the storm: ${eventsText(r.events)}`);
    if (r.joinErrors + r.syncErrors > 0) {
      lines.push(
        `  ${r.target}: ${r.joinErrors} join errors, ${r.syncErrors} sync errors: ${r.errorSamples.join(' | ')}`,
      );
    }
  }
  return lines.join('\n');
}

export async function runFleetScenario(
  opts: BenchOptions,
  repoRoot: string,
  resultsDir: string,
  stamp: string,
): Promise<Record<string, unknown>> {
  const rooms = (opts.sockets / opts.roomSize) * opts.roomsPerSocket;
  console.log(
    `${opts.scenario}: ${opts.sockets} sockets of distinct users, ${rooms} rooms of ${opts.roomSize} ` +
      `(${opts.roomsPerSocket} per socket), ${opts.workers} fleet worker(s), targets ${opts.targets.join(',')}`,
  );
  const limits = checkLimits(opts);
  console.log(limits);
  const logFile = path.join(resultsDir, `${stamp}-server.log`);
  if (opts.scenario === 'idle') {
    const reports: IdleReport[] = [];
    for (const t of opts.targets) reports.push(await idle(t, opts, repoRoot, logFile));
    console.log('\n' + idleText(reports, opts));
    const server = reports.find((r) => r.target === 'server');
    return {
      limits,
      targets: reports,
      perSocketKiB: server?.perSocketKiB ?? null,
      perSocketAnonKiB: server?.perSocketAnonKiB ?? null,
    };
  }
  const reports: ReconnectReport[] = [];
  for (const t of opts.targets) reports.push(await reconnect(t, opts, repoRoot, logFile));
  console.log('\n' + reconnectText(reports, opts));
  return { limits, targets: reports };
}
