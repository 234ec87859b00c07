import type { ServerResponse } from 'node:http';
import type { Socket as TcpSocket } from 'node:net';

/**
 * TCP connections one long-polling session may keep answers on. Honest clients use one or
 * two: engine.io-client sends its next poll only once it has read the whole previous answer,
 * a browser picks it a connection from a pool of at most six per host (the most recently
 * used first), and the SDK and the README use `transports: ['websocket']` anyway. A client
 * that opens a new connection per poll and reads none of them leaves each answer in that
 * connection's kernel buffers, which the process cannot see; this cap bounds how many.
 */
export const POLLING_ANSWER_SOCKETS_MAX = 4;

/** What this file needs of an engine.io session: its close event. */
interface EngineConn {
  once(event: 'close', listener: () => void): unknown;
}

const ofConn = new WeakMap<object, PollingAnswers>();

/**
 * The connections carrying one engine.io session's long-polling answers, with the latest
 * answer on each. engine.io hands a session's whole pending output to the poll that asks for
 * it and forgets it once written to the response, so output a client never reads piles up in
 * those sockets' buffers, out of the session's writeBuffer that SlowConsumers and
 * outputTaken look at. Here they see it too (socket-output.ts), and the session's end frees it.
 */
export class PollingAnswers {
  /** Oldest first: a Map keeps insertion order, and a reused socket moves to the end. */
  private readonly answers = new Map<TcpSocket, ServerResponse>();

  static of(conn: object): PollingAnswers | undefined {
    return ofConn.get(conn);
  }

  /** The session's tracker, made on its first poll; it lets go of its sockets when the session closes. */
  static for(conn: EngineConn & object): PollingAnswers {
    let answers = ofConn.get(conn);
    if (!answers) {
      const made = new PollingAnswers();
      conn.once('close', () => made.release());
      ofConn.set(conn, made);
      answers = made;
    }
    return answers;
  }

  /** Bytes of written answers that the kernel has not taken yet (the client is not reading). */
  unflushedBytes(): number {
    let bytes = 0;
    for (const [socket, res] of this.answers) if (unflushed(socket, res)) bytes += socket.writableLength;
    return bytes;
  }

  hasUnflushed(): boolean {
    for (const [socket, res] of this.answers) if (unflushed(socket, res)) return true;
    return false;
  }

  /**
   * A poll arrives on `socket`. False, and nothing recorded, when an earlier answer of the
   * session is still unflushed: the client asked again without reading it, which an honest
   * client never does (see POLLING_ANSWER_SOCKETS_MAX), so the caller cuts the session.
   */
  admit(socket: TcpSocket, res: ServerResponse): boolean {
    if (this.hasUnflushed()) return false;
    if (!this.answers.has(socket)) socket.once('close', () => this.answers.delete(socket));
    this.answers.delete(socket);
    this.answers.set(socket, res);
    while (this.answers.size > POLLING_ANSWER_SOCKETS_MAX) this.evictOldest();
    return true;
  }

  /**
   * The session was cut: its client stopped reading, so there is nothing left to deliver on
   * its connections, and a reset frees their kernel buffers too (a close would leave them to
   * the kernel until the unread bytes time out).
   */
  resetAll(): void {
    for (const [socket, res] of this.answers) if (carries(socket, res)) socket.resetAndDestroy();
    this.answers.clear();
  }

  /**
   * The session ended. Reset: connections whose answer is still in the process or never
   * came (Node times out neither, so they stayed open as long as the client wished), and
   * idle ones whose answer was complete before the close: an honest client read it before it
   * polled again or closed, a hostile one may have left it in the kernel's buffers, which a
   * close would keep until the kernel gives up on the peer. Spared: the connection taking the
   * session's last packet (close or noop) at this moment, and connections busy with another
   * request.
   */
  private release(): void {
    for (const [socket, res] of this.answers) {
      const lastPacket = res.writableEnded && !res.writableFinished && socket.writableLength === 0;
      if (carries(socket, res) && !lastPacket) socket.resetAndDestroy();
    }
    this.answers.clear();
  }

  /**
   * The oldest connection is reset when idle: an honest client's is between requests, as after
   * Node's keep-alive timeout, and retries on a fresh one. One busy with another request
   * (a POST of the session, a REST call) is only forgotten.
   */
  private evictOldest(): void {
    const [socket] = this.answers.keys();
    this.answers.delete(socket);
    if (!(socket as { _httpMessage?: unknown })._httpMessage) socket.resetAndDestroy();
  }
}

/**
 * Answered, and not all of it handed to the kernel (a write that completed at once, as the
 * last packet of a closing session, leaves no bytes and is not unflushed).
 */
function unflushed(socket: TcpSocket, res: ServerResponse): boolean {
  return res.writableEnded && !res.writableFinished && socket.writableLength > 0;
}

/** Not busy with a request other than this answer (a POST of the session, a REST call). */
function carries(socket: TcpSocket, res: ServerResponse): boolean {
  const current = (socket as { _httpMessage?: unknown })._httpMessage;
  return !current || current === res;
}
