import type { Socket } from 'socket.io';
import { PollingAnswers } from './polling-answers';

/** What engine.io keeps of a connection's output (not in socket.io's types). */
export interface EngineOutput {
  /** Packets engine.io holds until the transport can take them. */
  writeBuffer: { data?: unknown }[];
  transport: {
    name: string;
    /** WebSocket: false from a send until ws reports it written to the kernel. */
    writable: boolean;
    /** WebSocket: the ws socket (bytes handed to the kernel socket and not yet taken). */
    socket?: { bufferedAmount?: number; terminate?: () => void };
    on(event: 'drain', listener: () => void): unknown;
    off(event: 'drain', listener: () => void): unknown;
  };
  close(discard: boolean): void;
}

/** How often a wait looks again, in case the transport changed (an upgrade) meanwhile. */
const RECHECK_MS = 100;

/**
 * Whether output to this client is still waiting in the process: packets engine.io holds, or
 * a WebSocket send that has not reached the kernel, which is what a client that stops reading
 * leaves behind once the kernel's buffers are full, or a long-polling answer still in its
 * HTTP connection for the same reason (PollingAnswers). (A polling transport is not writable
 * between polls by design: that alone is no backlog.)
 */
export function hasOutputBacklog(socket: Socket): boolean {
  const conn = socket.conn as unknown as EngineOutput;
  return (
    conn.writeBuffer.length > 0 ||
    (conn.transport.name === 'websocket' && !conn.transport.writable) ||
    (PollingAnswers.of(conn)?.hasUnflushed() ?? false)
  );
}

/**
 * Resolves true once the client has taken this socket's earlier output (hasOutputBacklog is
 * false), or false if it has not within `timeoutMs` or the socket disconnected.
 */
export async function outputTaken(socket: Socket, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (hasOutputBacklog(socket)) {
    if (socket.disconnected || Date.now() >= deadline) return false;
    const { transport } = socket.conn as unknown as EngineOutput;
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        transport.off('drain', done);
        resolve();
      };
      const timer = setTimeout(done, Math.min(RECHECK_MS, deadline - Date.now()));
      transport.on('drain', done);
    });
  }
  return !socket.disconnected;
}

/**
 * Bytes written to this client that are still in the process: packets engine.io holds, and
 * what ws has handed to the socket but the kernel has not taken (its buffers are full once
 * the client stops reading), and long-polling answers in the same state: engine.io hands a
 * poll the session's whole backlog, so a client polling on new connections and reading none
 * emptied the write buffer into sockets nobody counted. Strings count in UTF-8 bytes,
 * binary attachments by length.
 */
export function outputBacklogBytes(socket: Socket): number {
  const conn = socket.conn as unknown as EngineOutput;
  let bytes = conn.transport.name === 'websocket' ? (conn.transport.socket?.bufferedAmount ?? 0) : 0;
  bytes += PollingAnswers.of(conn)?.unflushedBytes() ?? 0;
  for (const packet of conn.writeBuffer) bytes += packetBytes(packet);
  return bytes;
}

/**
 * A held packet's size, measured the first time a sweep sees it: measuring every held string
 * again at every sweep cost O(all unread bytes) each time, and a probe's 200 stalled
 * sockets of 22 MB each held the event loop 200 to 600 ms every 2 s. A packet object belongs
 * to one connection and does not change while engine.io holds it.
 */
const measured = new WeakMap<object, number>();
function packetBytes(packet: { data?: unknown }): number {
  let bytes = measured.get(packet);
  if (bytes === undefined) {
    const data = packet.data;
    if (typeof data === 'string') bytes = Buffer.byteLength(data);
    else if (data instanceof Uint8Array || data instanceof ArrayBuffer) bytes = data.byteLength;
    else bytes = 0;
    measured.set(packet, bytes);
  }
  return bytes;
}
