import { Injectable } from '@nestjs/common';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Server } from 'socket.io';
import type { PersistMetrics } from '../chat-history/persist-metrics';
import { roomChannel } from '../common/constants';
import type { ThreadMetric } from '../persist-thread';

/** Persistence queue figures, read from Redis on each scrape. */
export interface QueueSnapshot {
  depth: number;
  oldestAgeSeconds: number;
}

const ROOM_PREFIX = roomChannel(0).slice(0, -1);

/**
 * Prometheus metrics of this process (one registry per application, so tests can boot
 * several in one process). Hot-path methods only bump counters and histograms: no awaits,
 * and labels are small fixed sets (never user or room ids). Gauges that need a lookup
 * (sockets, queue depth) are computed when scraped.
 *
 * The persistence thread does not load this: it posts its counts (PersistMetrics) and
 * PersistThread hands them to `applyThreadMetric`, so one scrape covers the thread too.
 */
@Injectable()
export class MetricsService implements PersistMetrics {
  readonly registry = new Registry();
  private server: Server | undefined;
  private queueSource: (() => Promise<QueueSnapshot>) | undefined;

  private readonly sent = this.counter('chat_messages_sent_total', 'Messages accepted, numbered and broadcast');
  private readonly acked = this.counter('chat_messages_acked_total', 'sendMessage acknowledged ok (resends included)');
  private readonly stored = this.counter('chat_messages_stored_total', 'Messages inserted into PostgreSQL');
  private readonly deadLetters = this.counter('chat_dead_letters_total', 'Messages set aside as unstorable');
  private readonly rateLimitedTotal = new Counter({
    name: 'chat_rate_limited_total',
    help: 'Requests or events refused by a rate limit, by scope',
    labelNames: ['scope'] as const,
    registers: [this.registry],
  });
  private readonly ackLatency = this.histogram(
    'chat_ack_latency_seconds',
    'sendMessage received to ack',
    [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
  );
  private readonly fanout = this.histogram(
    'chat_delivery_fanout_sockets',
    'Local sockets per room broadcast',
    [0, 1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 5000],
  );
  private readonly batchSize = this.histogram(
    'chat_persist_batch_size',
    'Messages per persistence job',
    [1, 2, 5, 10, 20, 50, 100, 200],
  );
  private readonly insertDuration = this.histogram(
    'chat_persist_insert_duration_seconds',
    'One batch INSERT',
    [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
  );
  readonly httpDuration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP requests by route template and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly workerRestarts = this.counter('chat_persist_worker_restarts_total', 'Persistence thread restarts');
  private readonly slowConsumerCuts = this.counter(
    'chat_slow_consumer_disconnects_total',
    'Connections cut because their client stopped reading (unread output over WS_MAX_UNREAD_BYTES)',
  );
  private readonly floodCuts = this.counter(
    'chat_flood_disconnects_total',
    'Connections cut because their events went on being refused by the event budgets',
  );
  /** nodejs_heap_space_* covers the main thread only; the thread's heap is a part of RSS as large. */
  private readonly threadHeapBytes = new Gauge({
    name: 'chat_persist_thread_heap_space_bytes',
    help: 'Persistence thread: its V8 heap by space, in physical bytes (from its heartbeat, every second)',
    labelNames: ['space'] as const,
    registers: [this.registry],
  });

  private rendering: Promise<string> | undefined;

  constructor() {
    // Known scopes exist from the first scrape.
    for (const scope of [
      'socket_send',
      'socket_events',
      'socket_user_events',
      'socket_sync',
      'socket_connections',
      'connections_per_address',
      'sessions_per_address',
      'http_pipelining',
    ]) {
      this.rateLimitedTotal.inc({ scope }, 0);
    }
    collectDefaultMetrics({ register: this.registry }); // includes nodejs_eventloop_lag_* seconds
    this.gauge('chat_sockets_connected', 'Sockets connected to this instance', () => this.server?.sockets.sockets.size);
    this.gauge('chat_socket_room_joins', 'Socket memberships in chat room broadcasts, this instance', () =>
      this.roomJoins(),
    );
    const queue = { depth: 0, oldestAgeSeconds: 0, at: 0 };
    const refresh = async () => {
      if (!this.queueSource || Date.now() - queue.at < 500) return; // both gauges share one read
      // Redis down: keep the last figures (and /health/ready says why) rather than fail the scrape.
      const snap = await this.queueSource().catch(() => undefined);
      Object.assign(queue, snap ?? {}, { at: Date.now() });
    };
    this.gauge('chat_persist_queue_depth', 'Persistence jobs waiting, active or delayed', async () => {
      await refresh();
      return queue.depth;
    });
    this.gauge('chat_persist_oldest_pending_age_seconds', 'Age of the oldest job not yet stored', async () => {
      await refresh();
      return queue.oldestAgeSeconds;
    });
  }

  /** socket.io server whose sockets and rooms the gauges count (the gateway attaches it). */
  watchSockets(server: Server): void {
    this.server = server;
  }

  setQueueSource(source: () => Promise<QueueSnapshot>): void {
    this.queueSource = source;
  }

  /**
   * Scrapes that arrive while one renders share its text: each rendering walks every room's
   * sockets and may read the queue from Redis, and /metrics is open to anyone unless
   * METRICS_TOKEN is set, so a burst of scrapes would otherwise cost a burst of renderings.
   */
  scrape(): Promise<string> {
    return (this.rendering ??= this.registry.metrics().finally(() => (this.rendering = undefined)));
  }

  /** A client that stopped reading had its connection cut (SlowConsumers). */
  slowConsumerCut(): void {
    this.slowConsumerCuts.inc();
  }

  /** A client went on sending past its event budget's refusals and had its connection cut. */
  floodCut(): void {
    this.floodCuts.inc();
  }

  /** A new message was broadcast to its room: counts it and the room's local fan-out. */
  messageSent(chatroomId: number): void {
    this.sent.inc();
    this.fanout.observe(this.server?.sockets.adapter.rooms.get(roomChannel(chatroomId))?.size ?? 0);
  }

  /** `startedAt`: performance.now() when the send arrived. */
  messageAcked(startedAt: number): void {
    this.acked.inc();
    this.ackLatency.observe((performance.now() - startedAt) / 1000);
  }

  /** One persistence job stored: its size, the INSERT's duration, the rows it inserted. */
  batchStored(size: number, seconds: number, inserted: number): void {
    this.batchSize.observe(size);
    this.insertDuration.observe(seconds);
    this.stored.inc(inserted);
  }

  /** For the dead-letter path: messages set aside because they cannot be stored. */
  deadLettered(n = 1): void {
    this.deadLetters.inc(n);
  }

  /**
   * A rate limit refused something. `scope`: a fixed name such as `socket_send`, `login_ip`;
   * `n = 0` makes a known scope exist from the first scrape.
   */
  rateLimited(scope: string, n = 1): void {
    this.rateLimitedTotal.inc({ scope }, n);
  }

  /** Main thread: the persistence thread's heap, from its heartbeat (physical bytes per space). */
  threadHeap(spaces: Record<string, number>): void {
    for (const [space, bytes] of Object.entries(spaces)) this.threadHeapBytes.set({ space }, bytes);
  }

  /** Main thread: an observation the persistence thread posted. */
  applyThreadMetric(m: ThreadMetric): void {
    if (m.name === 'batch') this.batchStored(m.size, m.seconds, m.inserted);
    else if (m.name === 'deadLetters') this.deadLettered(m.n);
  }

  private roomJoins(): number {
    let joins = 0;
    for (const [name, sockets] of this.server?.sockets.adapter.rooms ?? []) {
      if (name.startsWith(ROOM_PREFIX)) joins += sockets.size;
    }
    return joins;
  }

  private counter(name: string, help: string): Counter {
    return new Counter({ name, help, registers: [this.registry] });
  }

  private histogram(name: string, help: string, buckets: number[]): Histogram {
    return new Histogram({ name, help, buckets, registers: [this.registry] });
  }

  private gauge(name: string, help: string, read: () => number | undefined | Promise<number>): void {
    new Gauge({
      name,
      help,
      registers: [this.registry],
      async collect() {
        this.set((await read()) ?? 0);
      },
    });
  }
}
