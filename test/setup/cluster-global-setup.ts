import { startRedisCluster, type LocalRedisCluster } from '../utils/redis-cluster';
import globalSetup from './global-setup';

/**
 * The e2e-cluster project: the test database's migrations (as for e2e), and a fresh local
 * 3-master Redis Cluster from redis-server processes, stopped by cluster-global-teardown.
 */
export default async function clusterGlobalSetup(): Promise<void> {
  globalSetup();
  const cluster = await startRedisCluster(3);
  process.env.CHAT_TEST_CLUSTER_SEED = cluster.nodes;
  (globalThis as { __REDIS_CLUSTER__?: LocalRedisCluster }).__REDIS_CLUSTER__ = cluster;
}
