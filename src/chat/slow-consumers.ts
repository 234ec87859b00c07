import { Logger } from '@nestjs/common';
import type { Server, Socket } from 'socket.io';
import { PollingAnswers } from './polling-answers';
import { type EngineOutput, outputBacklogBytes } from './socket-output';

/** How often this instance looks for clients that stopped reading. */
export const SLOW_CONSUMER_SWEEP_MS = 2_000;

/**
 * Drops the connection of a client that stopped reading: its unread output is over
 * `maxBytes` at two sweeps in a row and has not shrunk between them. Otherwise everything the
 * server writes to such a client (room messages, acks) piles up in the server's memory for
 * as long as the connection lasts: a probe that paused reading and kept sending grew the
 * server from 187 to 609 MB in half a minute. A client that is slow but reading (a large
 * `sync` answer on a slow link) shrinks its backlog between sweeps and is left alone.
 *
 * The transport is cut, not `socket.disconnect()`: that queues a DISCONNECT packet behind
 * the backlog, keeps the buffers until the client reads it, and a client that does reads
 * `io server disconnect`, after which socket.io clients do not reconnect by themselves. Cut,
 * the client sees `transport close`, reconnects and syncs what it missed, and the memory is
 * freed at once. One timer walks the instance's sockets (as TokenExpiry does), not a check
 * on every write.
 */
export class SlowConsumers {
  private readonly logger = new Logger(SlowConsumers.name);
  private timer: NodeJS.Timeout | undefined;
  /** Sockets over the limit at the last sweep, with their backlog then. */
  private readonly over = new WeakMap<Socket, number>();

  constructor(
    private readonly server: Server,
    private readonly maxBytes: number,
    /** Called once per connection cut (the metrics counter). */
    private readonly onCut: () => void = () => undefined,
  ) {}

  start(everyMs = SLOW_CONSUMER_SWEEP_MS): void {
    this.timer = setInterval(() => this.sweep(), everyMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /**
   * Drops the connections over the limit and not draining; returns how many. They are cut one
   * per turn of the event loop: 200 cut in one turn (their buffers freed at once) held every
   * other client's events for 2.7 s.
   */
  sweep(): number {
    const doomed: Socket[] = [];
    for (const socket of this.server.sockets.sockets.values()) {
      const backlog = outputBacklogBytes(socket);
      const before = this.over.get(socket);
      if (backlog <= this.maxBytes) {
        if (before !== undefined) this.over.delete(socket);
        continue;
      }
      if (before === undefined || backlog < before) {
        this.over.set(socket, backlog); // over, but first seen or draining: look again next sweep
        continue;
      }
      const userId = (socket.data as { user?: { id: number } }).user?.id;
      this.logger.warn(`user ${userId} socket ${socket.id}: ${backlog} bytes unread, over ${this.maxBytes}: dropped`);
      this.over.delete(socket);
      doomed.push(socket);
    }
    this.cutEach(doomed);
    return doomed.length;
  }

  private cutEach(doomed: Socket[], from = 0): void {
    if (from >= doomed.length) return;
    cut(doomed[from]);
    this.onCut();
    if (from + 1 < doomed.length) setImmediate(() => this.cutEach(doomed, from + 1));
  }
}

/** Closes the connection under the socket without a goodbye (see SlowConsumers). */
function cut(socket: Socket): void {
  cutConnection(socket.conn as unknown as EngineOutput);
}

/**
 * Ends an engine.io session without a goodbye: its WebSocket terminated, or its polling
 * session closed with its answer connections reset (what they hold is unread output too).
 * For every cut below socket.io: slow consumers, floods.
 */
export function cutConnection(conn: EngineOutput): void {
  PollingAnswers.of(conn)?.resetAll();
  const ws = conn.transport.name === 'websocket' ? conn.transport.socket : undefined;
  if (ws?.terminate) ws.terminate();
  else conn.close(true);
}
