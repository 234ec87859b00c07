// First setup file of the e2e-cluster project (jest.config.js): env.ts, next, points the
// suite at the local Redis Cluster. Each test file has its own global object, so this
// flag never reaches a suite of the plain e2e project.
(globalThis as { ON_REDIS_CLUSTER?: boolean }).ON_REDIS_CLUSTER = true;
