import type { LocalRedisCluster } from '../utils/redis-cluster';

export default async function clusterGlobalTeardown(): Promise<void> {
  await (globalThis as { __REDIS_CLUSTER__?: LocalRedisCluster }).__REDIS_CLUSTER__?.stop();
}
