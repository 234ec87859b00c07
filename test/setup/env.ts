import { assertTestTargets, testEnv } from './test-env';

// Runs in every e2e worker before the specs: the app under test reads process.env.
assertTestTargets();
// The e2e-cluster project (jest.config.js) runs its suites on the local Redis Cluster its
// global setup started; every other suite on the single test Redis. Suites share one
// process (--runInBand), so each one sets this afresh.
if ((globalThis as { ON_REDIS_CLUSTER?: boolean }).ON_REDIS_CLUSTER) {
  const seed = process.env.CHAT_TEST_CLUSTER_SEED;
  if (!seed) throw new Error('e2e-cluster: no local Redis Cluster (test/setup/cluster-global-setup.ts)');
  process.env.TEST_REDIS_CLUSTER_NODES = seed;
} else {
  delete process.env.TEST_REDIS_CLUSTER_NODES;
  delete process.env.REDIS_CLUSTER_NODES;
}
Object.assign(process.env, testEnv());

// Specs that spawn servers or wait for the queue need more than Jest's default 5 s.
// A loaded machine can take 20 s to boot three servers: room for that, never a tight race.
jest.setTimeout(90_000);
