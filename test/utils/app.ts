import type { INestApplication } from '@nestjs/common';
import Redis from 'ioredis';
import { Client } from 'pg';
import request from 'supertest';
import { createApp } from '../../src/app.factory';
import { AppConfig } from '../../src/config/app-config';
import { TEST_DATABASE_URL, TEST_REDIS_URL, testEnv } from '../setup/test-env';

export interface TestApp {
  app: INestApplication;
  url: string;
  http: () => ReturnType<typeof request>;
  close: () => Promise<void>;
}

/** Boots the real application (same factory as main.ts) on a free port. */
export async function startApp(overrides: Record<string, string> = {}): Promise<TestApp> {
  const config = AppConfig.fromEnv(testEnv({ PORT: '0', ...overrides }));
  const app = await createApp(config);
  await app.listen(0, '127.0.0.1');
  const url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  return { app, url, http: () => request(url), close: () => app.close() };
}

/** Empties every table and the test Redis db: each suite starts from nothing. */
export async function resetState(): Promise<void> {
  await sql(
    'TRUNCATE users, chatrooms, chatroom_members, messages, message_reads, message_hidden, admin_audit RESTART IDENTITY CASCADE',
  );
  const redis = new Redis(TEST_REDIS_URL);
  try {
    await redis.flushdb();
  } finally {
    redis.disconnect();
  }
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
