import { assertTestTargets, testEnv } from './test-env';

// Runs in every e2e worker before the specs: the app under test reads process.env.
assertTestTargets();
Object.assign(process.env, testEnv());

// Specs that spawn servers or wait for the queue need more than Jest's default 5 s.
// A loaded machine can take 20 s to boot three servers: room for that, never a tight race.
jest.setTimeout(90_000);
