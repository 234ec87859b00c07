import { eventually, resetState, sql } from './utils/app';
import { parseMetrics, valueOf } from './utils/metrics';
import { freePort, registerOn, ServerProcess, spawnServer, waitHealthy } from './utils/processes';
import { closeAllSockets, connect, emitAck } from './utils/sockets';

const TOKEN = 'metrics-token-for-the-e2e-test';

/**
 * `/metrics` on a real server process with its persistence worker in a thread (the
 * default), so the worker's figures have to travel from the thread to the main thread.
 */
jest.setTimeout(60_000);

describe('GET /metrics (e2e)', () => {
  let s: ServerProcess;

  beforeAll(async () => {
    await resetState();
    // A burst of 5 with a slow refill: the 8 concurrent sends below are 5 acks and 3 refusals.
    s = spawnServer({ PORT: freePort(), METRICS_TOKEN: TOKEN, SEND_BURST: '5', SEND_RATE_PER_SEC: '1' });
    await waitHealthy(s);
  });
  afterAll(async () => {
    closeAllSockets();
    await s?.stop();
  });

  const scrape = async () => {
    const res = await fetch(`${s.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    return parseMetrics(await res.text());
  };

  it('should require the metrics token when METRICS_TOKEN is set', async () => {
    expect((await fetch(`${s.url}/metrics`)).status).toBe(401);
    const wrong = await fetch(`${s.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}x` } });
    expect(wrong.status).toBe(401);
    expect(await wrong.json()).toMatchObject({ statusCode: 401, code: 'UNAUTHORIZED' });
    // A user's access token is no metrics token.
    const user = await registerOn(s.url, 'metrics_probe');
    const asUser = await fetch(`${s.url}/metrics`, { headers: { authorization: `Bearer ${user.token}` } });
    expect(asUser.status).toBe(401);
  });

  it('counts sockets, joins, sends, acks, stores, fan-out, rate limits and HTTP requests exactly', async () => {
    const before = await scrape();
    const alice = await registerOn(s.url, 'metrics_alice'); // register + login: 2 HTTP requests
    const bob = await registerOn(s.url, 'metrics_bob');
    const room = (await alice.post('/chatrooms', { name: 'm', memberIds: [bob.id] }, alice.token)).id as number;
    const sa = await connect(s.url, alice.token);
    const sb = await connect(s.url, bob.token);
    await emitAck(sa, 'joinRoom', { chatroomId: room });
    await emitAck(sb, 'joinRoom', { chatroomId: room });

    const sends = Array.from({ length: 8 }, (_, i) =>
      emitAck(sa, 'sendMessage', { chatroomId: room, message: { type: 'text', content: `m${i}` } }),
    );
    const acks = await Promise.all(sends);
    const ok = acks.filter((a) => a.ok).length;
    const limited = acks.filter((a) => a.error?.code === 'RATE_LIMITED').length;
    expect(ok + limited).toBe(8);
    expect(ok).toBeGreaterThanOrEqual(5);
    await eventually(
      async () => (await sql('SELECT 1 FROM messages WHERE chatroom_id = $1', [room])).length === ok,
      15_000,
      'messages stored',
    );
    // The thread posts its figures after each batch's INSERT, before the job completes, and the
    // queue gauges are cached briefly: wait for both to say the batch is done.
    const after = (await eventually(async () => {
      const m = await scrape();
      const stored = valueOf(m, 'chat_messages_stored_total') - valueOf(before, 'chat_messages_stored_total');
      return stored === ok && valueOf(m, 'chat_persist_queue_depth') === 0 ? m : null;
    }))!;
    const delta = (name: string, labels: Record<string, string> = {}) =>
      valueOf(after, name, labels) - valueOf(before, name, labels);

    expect(valueOf(after, 'chat_sockets_connected')).toBe(2);
    expect(valueOf(after, 'chat_socket_room_joins')).toBe(2);
    expect(delta('chat_messages_sent_total')).toBe(ok);
    expect(delta('chat_messages_acked_total')).toBe(ok);
    expect(delta('chat_messages_stored_total')).toBe(ok);
    expect(delta('chat_ack_latency_seconds_count')).toBe(ok);
    expect(delta('chat_ack_latency_seconds_sum')).toBeGreaterThan(0);
    // Every broadcast reached the room's two local sockets.
    expect(delta('chat_delivery_fanout_sockets_count')).toBe(ok);
    expect(delta('chat_delivery_fanout_sockets_sum')).toBe(2 * ok);
    expect(delta('chat_persist_batch_size_sum')).toBe(ok);
    expect(delta('chat_persist_batch_size_count')).toBeGreaterThanOrEqual(1);
    expect(delta('chat_persist_insert_duration_seconds_count')).toBe(delta('chat_persist_batch_size_count'));
    expect(delta('chat_rate_limited_total', { scope: 'socket_send' })).toBe(limited);
    expect(delta('chat_dead_letters_total')).toBe(0);
    // HTTP: by route template and status (two logins: alice and bob).
    const login = { method: 'POST', route: '/auth/login', status: '200' };
    expect(delta('http_request_duration_seconds_count', login)).toBe(2);
    const create = { method: 'POST', route: '/chatrooms', status: '201' };
    expect(delta('http_request_duration_seconds_count', create)).toBe(1);
    // Everything stored: nothing left in the queue.
    expect(valueOf(after, 'chat_persist_queue_depth')).toBe(0);
    expect(valueOf(after, 'chat_persist_oldest_pending_age_seconds')).toBe(0);
    // Default process metrics and the event-loop lag are there too.
    expect(after.has('nodejs_eventloop_lag_seconds')).toBe(true);
    expect(after.has('process_resident_memory_bytes')).toBe(true);

    sb.disconnect();
    await eventually(async () => valueOf(await scrape(), 'chat_socket_room_joins') === 1, 5000, 'bob gone');
  });

  it('labels unknown paths as unmatched, not by their raw path', async () => {
    await fetch(`${s.url}/no/such/path/12345`);
    const m = await scrape();
    expect(
      valueOf(m, 'http_request_duration_seconds_count', { method: 'GET', route: 'unmatched', status: '404' }),
    ).toBeGreaterThanOrEqual(1);
    expect([...m.keys()].some((k) => k.includes('12345'))).toBe(false);
  });
});
