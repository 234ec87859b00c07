import { startApp, TestApp } from './utils/app';

describe('GET /health (e2e)', () => {
  it('is 200 with db, redis and queue when both answer', async () => {
    const t = await startApp();
    try {
      const res = await t.http().get('/health');
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ status: 'ok', db: 'up', redis: 'up', queue: { waiting: expect.any(Number) } });
    } finally {
      await t.close();
    }
  });

  it('is 503 when Redis is unreachable', async () => {
    let t: TestApp | undefined;
    try {
      t = await startApp({ REDIS_URL: 'redis://127.0.0.1:1/15' });
      const res = await t.http().get('/health');
      expect(res.status).toBe(503);
      expect(res.body).toMatchObject({ status: 'unavailable', db: 'up', redis: 'down' });
    } finally {
      await t?.close();
    }
  });
});
