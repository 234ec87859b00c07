import { Logger } from '@nestjs/common';
import type { Server, Socket } from 'socket.io';

/** How often this instance looks for clients that stopped reading. */
export const SLOW_CONSUMER_SWEEP_MS = 2_000;

/** What engine.io and ws hold of a connection's output (not in socket.io's types). */
interface EngineConnection {
  /** Packets engine.io holds while the transport is busy with an earlier send. */
  writeBuffer: { data?: unknown }[];
  transport: { name: string; socket?: { bufferedAmount?: number } };
}

/**
 * Bytes written to this client that are still in the process: packets engine.io holds, and
 * what ws has handed to the socket but the kernel has not taken (its buffers are full once
 * the client stops reading). Binary attachments count by their length, strings by theirs.
 */
export function outputBacklogBytes(socket: Socket): number {
  const conn = socket.conn as unknown as EngineConnection;
  let bytes = conn.transport.name === 'websocket' ? (conn.transport.socket?.bufferedAmount ?? 0) : 0;
  for (const packet of conn.writeBuffer) {
    const data = packet.data;
    if (typeof data === 'string') bytes += data.length;
    else if (data instanceof Uint8Array || data instanceof ArrayBuffer) bytes += data.byteLength;
  }
  return bytes;
}

/**
 * Disconnects clients that stopped reading once their unread output passes `maxBytes`.
 * Otherwise everything the server writes to such a client (room messages, acks) piles up in
 * the server's memory for as long as the connection lasts: a probe that paused reading and
 * kept sending grew the server from 187 to 609 MB in half a minute. Nothing is lost by the
 * disconnect: a client that reconnects gets what it missed with `sync`. One timer walks the
 * instance's sockets (as TokenExpiry does), not a check on every write.
 */
export class SlowConsumers {
  private readonly logger = new Logger(SlowConsumers.name);
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly server: Server,
    private readonly maxBytes: number,
  ) {}

  start(everyMs = SLOW_CONSUMER_SWEEP_MS): void {
    this.timer = setInterval(() => this.sweep(), everyMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Disconnects the sockets over the limit; returns how many. */
  sweep(): number {
    let closed = 0;
    for (const socket of this.server.sockets.sockets.values()) {
      const backlog = outputBacklogBytes(socket);
      if (backlog <= this.maxBytes) continue;
      const userId = (socket.data as { user?: { id: number } }).user?.id;
      this.logger.warn(
        `user ${userId} socket ${socket.id}: ${backlog} bytes unread, over ${this.maxBytes}: disconnected`,
      );
      socket.disconnect(true);
      closed++;
    }
    return closed;
  }
}
