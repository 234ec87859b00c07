/**
 * Where a step's CPU went and how much memory the target held, read from /proc (Linux; on
 * other systems every figure is null). CPU is a share of one core over the send window, for
 * the target's main thread (its event loop), the target's other threads (the persistence
 * worker thread, libuv's pool, GC helpers), the load workers, and every PostgreSQL and Redis
 * process on the machine. On a machine with few cores these compete with each other, which
 * is what the figures are for: they show what the ratio between targets is made of.
 */
import { readdirSync, readFileSync } from 'node:fs';

export interface ResourceUse {
  /** Shares of one core (1 = a whole core) during the window. */
  cpuMain: number | null;
  cpuOtherThreads: number | null;
  cpuLoad: number | null;
  cpuPostgres: number | null;
  cpuRedis: number | null;
  /** The target's resident memory at the end of the window. */
  rssMiB: number | null;
}

interface Ticks {
  at: number;
  main: number;
  other: number;
  load: number;
  postgres: number;
  redis: number;
}

const TICKS_PER_S = 100; // USER_HZ: 100 on every Linux this runs on (`getconf CLK_TCK`)

/**
 * utime + stime of a /proc stat line, the command name, and cutime + cstime: the ticks of
 * the process's children that exited and were waited for.
 */
function parseStat(text: string): { comm: string; ticks: number; reapedTicks: number } {
  const close = text.lastIndexOf(')');
  const fields = text.slice(close + 2).split(' ');
  // Fields after the name start at "state" (field 3): utime is field 14, stime 15, cutime 16, cstime 17.
  return {
    comm: text.slice(text.indexOf('(') + 1, close),
    ticks: Number(fields[11]) + Number(fields[12]),
    reapedTicks: Number(fields[13]) + Number(fields[14]),
  };
}

function read(file: string): string | null {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return null; // the process or thread is gone
  }
}

function processTicks(pid: number): number {
  const stat = read(`/proc/${pid}/stat`);
  return stat ? parseStat(stat).ticks : 0;
}

/**
 * Ticks of all processes whose name starts with one of these (a scan of /proc), including
 * their exited children's. PostgreSQL's backends and autovacuum workers come and go: a
 * process that exits during a window takes its ticks out of a plain sum, which then came
 * out lower than at the start (read as 0 % PostgreSQL at busy steps). Once the postmaster
 * has waited for it, its ticks are in the postmaster's cutime + cstime, so they stay
 * counted. A child that exited but was not yet waited for is missed until it is.
 */
function ticksByName(prefixes: string[], exclude: ReadonlySet<string>): number[] {
  const out = prefixes.map(() => 0);
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || exclude.has(entry)) continue;
    const stat = read(`/proc/${entry}/stat`);
    if (!stat) continue;
    const { comm, ticks, reapedTicks } = parseStat(stat);
    const i = prefixes.findIndex((p) => comm.startsWith(p));
    if (i >= 0) out[i] += ticks + reapedTicks;
  }
  return out;
}

export class ResourceSampler {
  private readonly supported: boolean;
  private readonly exclude: ReadonlySet<string>;

  /** `harnessPids`: processes that match a service's name but work for the harness (its row counter's backend). */
  constructor(
    private readonly targetPid: number | undefined,
    private readonly loadPids: number[],
    harnessPids: number[] = [],
  ) {
    this.exclude = new Set(harnessPids.map(String));
    this.supported = process.platform === 'linux' && targetPid !== undefined && read('/proc/self/stat') !== null;
  }

  /** A mark to measure from. */
  mark(): Ticks | null {
    if (!this.supported) return null;
    const pid = this.targetPid!;
    // The process total covers every thread; the main thread's id is the process id.
    const total = processTicks(pid);
    const mainStat = read(`/proc/${pid}/task/${pid}/stat`);
    const main = mainStat ? parseStat(mainStat).ticks : 0;
    const [postgres, redis] = ticksByName(['postgres', 'redis-server'], this.exclude);
    return {
      at: performance.now(),
      main,
      other: total - main,
      load: this.loadPids.reduce((n, p) => n + processTicks(p), 0),
      postgres,
      redis,
    };
  }

  since(start: Ticks | null): ResourceUse {
    const end = this.mark();
    if (!start || !end) {
      return { cpuMain: null, cpuOtherThreads: null, cpuLoad: null, cpuPostgres: null, cpuRedis: null, rssMiB: null };
    }
    const seconds = (end.at - start.at) / 1000;
    const share = (k: keyof Omit<Ticks, 'at'>) => Math.max(0, end[k] - start[k]) / TICKS_PER_S / seconds;
    const rssKiB = Number(/VmRSS:\s+(\d+)/.exec(read(`/proc/${this.targetPid}/status`) ?? '')?.[1] ?? NaN);
    return {
      cpuMain: share('main'),
      cpuOtherThreads: share('other'),
      cpuLoad: share('load'),
      cpuPostgres: share('postgres'),
      cpuRedis: share('redis'),
      rssMiB: Number.isFinite(rssKiB) ? rssKiB / 1024 : null,
    };
  }
}
