import { startApp, TestApp } from './utils/app';
import { parseMetrics, valueOf } from './utils/metrics';

describe('GET /metrics without METRICS_TOKEN (e2e)', () => {
  let t: TestApp;
  beforeAll(async () => (t = await startApp({ METRICS_TOKEN: '' })));
  afterAll(() => t?.close());

  it('is open and in the Prometheus text format', async () => {
    const res = await t.http().get('/metrics');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    const m = parseMetrics(res.text);
    expect(valueOf(m, 'chat_rate_limited_total', { scope: 'socket_send' })).toBe(0);
    expect(m.has('chat_dead_letters_total')).toBe(true);
    expect(m.has('chat_persist_queue_depth')).toBe(true);
  });
});
