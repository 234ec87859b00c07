import { eventually, resetState, startApp, TestApp } from './utils/app';
import { parseMetrics, valueOf } from './utils/metrics';
import { freePort, registerOn, ServerProcess, spawnServer } from './utils/processes';
import { closeAllSockets, connect, emitAck } from './utils/sockets';

/**
 * The worker-only process (`main.js --worker`) serves its own /metrics and /health/* on
 * WORKER_HTTP_PORT: Prometheus scrapes it next to the servers, whose /metrics do not see
 * another process's inserts.
 */
jest.setTimeout(60_000);

describe('worker process metrics and health (e2e)', () => {
  let server: TestApp;
  let worker: ServerProcess;
  let workerUrl: string;

  beforeAll(async () => {
    await resetState();
    server = await startApp({ WORKER_ENABLED: 'false' });
    const port = freePort();
    workerUrl = `http://127.0.0.1:${port}`;
    worker = spawnServer({ PORT: freePort(), WORKER_HTTP_PORT: port }, ['--worker']);
    await eventually(async () => (await fetch(`${workerUrl}/health/ready`).catch(() => null))?.status === 200, 45_000);
  });
  afterAll(async () => {
    closeAllSockets();
    await worker?.stop();
    await server?.close();
  });

  it('answers live and ready, and counts what it stores', async () => {
    expect((await fetch(`${workerUrl}/health/live`)).status).toBe(200);
    const ready = (await (await fetch(`${workerUrl}/health/ready`)).json()) as any;
    expect(ready).toMatchObject({ status: 'ok', checks: { worker: { status: 'up' }, migrations: { status: 'up' } } });

    const before = parseMetrics(await (await fetch(`${workerUrl}/metrics`)).text());
    const alice = await registerOn(server.url, 'worker_metrics');
    const room = (await alice.post('/chatrooms', { name: 'w' }, alice.token)).id as number;
    const socket = await connect(server.url, alice.token);
    for (let i = 0; i < 3; i++) {
      const ack = await emitAck(socket, 'sendMessage', {
        chatroomId: room,
        message: { type: 'text', content: `${i}` },
      });
      expect(ack.ok).toBe(true);
    }
    const after = (await eventually(async () => {
      const m = parseMetrics(await (await fetch(`${workerUrl}/metrics`)).text());
      return valueOf(m, 'chat_messages_stored_total') - valueOf(before, 'chat_messages_stored_total') === 3 ? m : null;
    }, 15_000))!;
    expect(valueOf(after, 'chat_persist_batch_size_sum') - valueOf(before, 'chat_persist_batch_size_sum')).toBe(3);
    // The server sent and acked them; storing is the worker's figure.
    const serverMetrics = parseMetrics((await server.http().get('/metrics')).text);
    expect(valueOf(serverMetrics, 'chat_messages_acked_total')).toBe(3);
    expect(valueOf(serverMetrics, 'chat_messages_stored_total')).toBe(0);
  });
});
