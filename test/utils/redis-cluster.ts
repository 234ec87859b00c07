import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import Redis from 'ioredis';
import { REDIS_CLUSTER_PORTS } from './processes';

export interface LocalRedisCluster {
  /** `host:port,host:port,host:port`: what REDIS_CLUSTER_NODES takes. */
  nodes: string;
  ports: number[];
  stop(): Promise<void>;
}

/**
 * A throwaway Redis Cluster of `masters` redis-server processes on spare local ports (no
 * replicas, nothing on disk), created with `redis-cli --cluster create`, for the e2e suites
 * that run the real-time path on a cluster.
 */
export async function startRedisCluster(masters = 3): Promise<LocalRedisCluster> {
  const ports = await sparePorts(masters);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'chat-redis-cluster-'));
  const procs: ChildProcess[] = ports.map((port) =>
    spawn(
      'redis-server',
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--cluster-enabled',
        'yes',
        '--cluster-config-file',
        `nodes-${port}.conf`,
        '--cluster-node-timeout',
        '2000',
        '--dir',
        dir,
        '--save',
        '',
        '--appendonly',
        'no',
      ],
      { stdio: 'ignore' },
    ),
  );
  const stop = async () => {
    for (const p of procs) p.kill('SIGKILL');
    await Promise.all(
      procs.map((p) => (p.exitCode === null ? new Promise((r) => p.once('exit', r)) : Promise.resolve())),
    );
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await Promise.all(ports.map((port) => untilAnswers(port)));
    const create = spawnSync(
      'redis-cli',
      ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes'],
      { encoding: 'utf8', timeout: 30_000 },
    );
    if (create.status !== 0) throw new Error(`redis-cli --cluster create failed: ${create.stdout}${create.stderr}`);
    await Promise.all(ports.map((port) => untilClusterOk(port)));
  } catch (err) {
    await stop();
    throw err;
  }
  return { nodes: ports.map((p) => `127.0.0.1:${p}`).join(','), ports, stop };
}

/** Empties every master (a cluster has only database 0). */
export async function flushCluster(nodes: string): Promise<void> {
  await Promise.all(
    nodes.split(',').map(async (node) => {
      const [host, port] = node.split(':');
      const redis = new Redis({ host, port: Number(port), lazyConnect: true, maxRetriesPerRequest: 1 });
      try {
        await redis.connect();
        await redis.flushall();
      } finally {
        redis.disconnect();
      }
    }),
  );
}

/** Ports whose cluster bus port (+10000) is free too. */
async function sparePorts(n: number): Promise<number[]> {
  const out: number[] = [];
  const { from, to } = REDIS_CLUSTER_PORTS;
  for (let port = from + Math.floor(Math.random() * (to - from - 100)); out.length < n && port < to; port++) {
    if ((await isFree(port)) && (await isFree(port + 10000))) out.push(port);
  }
  if (out.length < n) throw new Error('no spare ports for a local Redis Cluster');
  return out;
}

function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

async function untilAnswers(port: number): Promise<void> {
  await until(port, async (r) => (await r.ping()) === 'PONG', 'redis-server to answer');
}

async function untilClusterOk(port: number): Promise<void> {
  await until(port, async (r) => /cluster_state:ok/.test(String(await r.cluster('INFO'))), 'cluster_state:ok');
}

async function until(port: number, ok: (r: Redis) => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    const r = new Redis({ port, host: '127.0.0.1', lazyConnect: true, retryStrategy: () => null });
    r.on('error', () => undefined);
    try {
      await r.connect();
      if (await ok(r)) return;
    } catch {
      // not yet
    } finally {
      r.disconnect();
    }
    await new Promise((res) => setTimeout(res, 100));
  }
  throw new Error(`timed out waiting for ${what} on port ${port}`);
}
