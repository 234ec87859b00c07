/**
 * Two tiers (CONVENTIONS.md): unit specs next to the code, and e2e specs in test/ that boot
 * the real application against real PostgreSQL and Redis (test/setup/global-setup.ts
 * prepares a database whose name ends in _test and refuses any other).
 */
const shared = {
  testEnvironment: 'node',
  // @swc/jest compiles TypeScript with decorator metadata, and also the NestJS 12 packages,
  // which ship as ES modules that Jest's CommonJS runtime cannot load on Node 20.
  transform: { '^.+\\.(t|j|mj)s$': ['@swc/jest'] },
  transformIgnorePatterns: ['/node_modules/(?!(@nestjs|uuid)/)'],
  // Prisma's generated client (and the workspace packages) import siblings as './x.js' while
  // the files are .ts. The workspace packages are tested from source, so no build is needed.
  moduleNameMapper: {
    '^(\\.{1,2}/.*)\\.js$': '$1',
    '^@chat-backend/(protocol|client)$': '<rootDir>/packages/$1/src/index.ts',
  },
};

/** Send, dedupe, sync, edits of queued messages, presence, two instances, the worker process. */
const CLUSTER_SUITES = [
  'chat-gateway',
  'send-order',
  'messages',
  'presence',
  'multi-instance',
  'worker-process',
  'sweeper',
  'client-sdk',
  'reconnect-path',
  'durability',
  'redis-cluster',
  'removal-window',
  'presence-order',
];

module.exports = {
  projects: [
    {
      ...shared,
      displayName: 'unit',
      testMatch: [
        '<rootDir>/src/**/*.spec.ts',
        '<rootDir>/packages/*/src/**/*.spec.ts',
        '<rootDir>/bench/**/*.spec.ts',
        '<rootDir>/test/infra/**/*.spec.ts',
      ],
    },
    {
      ...shared,
      displayName: 'e2e',
      testMatch: ['<rootDir>/test/**/*.e2e-spec.ts'],
      // Only meaningful on the cluster the e2e-cluster project starts.
      testPathIgnorePatterns: ['/test/redis-cluster\\.e2e-spec\\.ts$'],
      globalSetup: '<rootDir>/test/setup/global-setup.ts',
      setupFiles: ['<rootDir>/test/setup/env.ts'],
    },
    {
      // The real-time path on a Redis Cluster (REDIS_CLUSTER_NODES): a local 3-master cluster
      // started from redis-server for these suites, then stopped.
      ...shared,
      displayName: 'e2e-cluster',
      testMatch: CLUSTER_SUITES.map((name) => `<rootDir>/test/${name}.e2e-spec.ts`),
      globalSetup: '<rootDir>/test/setup/cluster-global-setup.ts',
      globalTeardown: '<rootDir>/test/setup/cluster-global-teardown.ts',
      setupFiles: ['<rootDir>/test/setup/on-cluster.ts', '<rootDir>/test/setup/env.ts'],
    },
  ],
};
