import { appendFileSync } from 'node:fs';
import type { INestApplication } from '@nestjs/common';
import type { Application, RequestHandler } from 'express';
import Redis from 'ioredis';
import { Client } from 'pg';
import request from 'supertest';
import { createApp } from '../../src/app.factory';
import { loadConfig } from '../../src/config/load-config';
import { TEST_DATABASE_URL, TEST_REDIS_URL, testEnv, testRedisClusterNodes } from '../setup/test-env';
import { ConformanceChecker, ResponseCollector } from './openapi';
import { flushCluster } from './redis-cluster';

export interface TestApp {
  app: INestApplication;
  url: string;
  http: () => ReturnType<typeof request>;
  /** Closes the app, then fails if a response it sent contradicts the OpenAPI document. */
  close: () => Promise<void>;
  /** Every response sent so far (method, url, matched route, status, body). */
  responses: ResponseCollector['records'];
}

export interface StartOptions {
  /** Check every response against /docs-json on close (default true). */
  conformance?: boolean;
}

/** Boots the real application (same factory as main.ts) on a free port. */
export async function startApp(overrides: Record<string, string> = {}, options: StartOptions = {}): Promise<TestApp> {
  const config = loadConfig(testEnv({ PORT: '0', ...overrides }));
  const app = await createApp(config);
  const collector = new ResponseCollector();
  installFirst(app, collector.middleware());
  await app.listen(0, '127.0.0.1');
  const url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  // Fetched now (once per test file), so close() can check even if the app died meanwhile.
  const doc = options.conformance === false ? undefined : await openApiDocument(url);
  const close = async () => {
    await app.close();
    if (!doc) return;
    const records = collector.records.splice(0); // a second close() does not report them again
    const checker = new ConformanceChecker(doc);
    const problems = checker.check(records);
    if (process.env.OPENAPI_COVERAGE_FILE) appendFileSync(process.env.OPENAPI_COVERAGE_FILE, checker.covered(records));
    if (problems.length) {
      throw new Error(
        `${problems.length} response(s) contradict the OpenAPI document (/docs-json); fix the document ` +
          `(src/**/dto/*.response.ts, @Api* decorators) or the code:\n  ${problems.join('\n  ')}`,
      );
    }
  };
  return { app, url, http: () => request(url), close, responses: collector.records };
}

/**
 * Ahead of the body parser, so responses it answers itself (413, malformed JSON) are
 * recorded too.
 */
function installFirst(app: INestApplication, handler: RequestHandler): void {
  const express = app.getHttpAdapter().getInstance() as Application & { router?: { stack: unknown[] } };
  express.use(handler);
  const stack = express.router?.stack;
  if (stack) stack.unshift(stack.pop());
}

/** The served document, fetched once per test file (every app of a build serves the same). */
let cachedDoc: unknown;
async function openApiDocument(url: string): Promise<unknown> {
  if (!cachedDoc) {
    const res = await request(url).get('/docs-json');
    if (res.status !== 200) throw new Error(`GET /docs-json answered ${res.status}`);
    cachedDoc = res.body;
  }
  return cachedDoc;
}

/** Empties every table and the test Redis db: each suite starts from nothing. */
export async function resetState(): Promise<void> {
  await sql(
    'TRUNCATE users, chatrooms, chatroom_members, messages, message_reads, message_hidden, admin_audit, dead_letters RESTART IDENTITY CASCADE',
  );
  await flushTestRedis();
}

/** Empties the test Redis (or the e2e-cluster project's cluster): every budget, buffer and key. */
export async function flushTestRedis(): Promise<void> {
  const cluster = testRedisClusterNodes();
  if (cluster) return flushCluster(cluster);
  const redis = new Redis(TEST_REDIS_URL);
  try {
    await redis.flushdb();
  } finally {
    redis.disconnect();
  }
}

/** A REST refusal by a rate limit: 429 RATE_LIMITED with the error body, the wait and Retry-After. */
export function expectRateLimited(res: { status: number; headers: Record<string, string>; body: unknown }): void {
  expect(res.status).toBe(429);
  expect(res.body).toMatchObject({
    statusCode: 429,
    code: 'RATE_LIMITED',
    message: expect.any(String),
    details: { retryAfterMs: expect.any(Number) },
  });
  expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(1);
}

type Answer = { status: number; headers: Record<string, string>; body: unknown };

/**
 * How many of up to 10 calls succeed (`okStatus`) before the first refusal, which must be a
 * rate limit's 429: what a charged read costs against a small REST budget.
 */
export async function untilRefused(call: () => PromiseLike<Answer>, okStatus = 200): Promise<number> {
  let ok = 0;
  for (let i = 0; i < 10; i++) {
    const res = await call();
    if (res.status === 429) {
      expectRateLimited(res);
      return ok;
    }
    expect(res.status).toBe(okStatus);
    ok++;
  }
  return ok;
}

/** One statement against the test database, on a connection of its own. */
export async function sql<T extends Record<string, unknown> = Record<string, unknown>>(
  text: string,
  params: unknown[] = [],
): Promise<T[]> {
  const client = new Client({ connectionString: TEST_DATABASE_URL });
  await client.connect();
  try {
    return (await client.query<T>(text, params)).rows;
  } finally {
    await client.end();
  }
}

/** Polls `fn` until it returns a truthy value, or fails after `timeoutMs`. */
export async function eventually<T>(fn: () => Promise<T> | T, timeoutMs = 10_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(
    `timed out after ${timeoutMs} ms waiting for ${what}${last instanceof Error ? `: ${last.message}` : ''}`,
  );
}
