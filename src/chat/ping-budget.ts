import { Logger } from '@nestjs/common';
import { CutBudget } from './rate-limiter';

/**
 * WebSocket ping frames a connection may send, WS_PING_BURST at once and WS_PINGS_PER_SEC a
 * second after that, before it is cut. ws answers every ping with a pong before anything
 * else sees it, and before any token is checked, so without a budget one anonymous
 * connection sending 230,000 pings a second took the event loop (another user's ack went from
 * 3 to 366 ms). Browsers never send pings; socket.io's heartbeat is an engine.io packet, which
 * the event budget charges; native WebSocket libraries that keep a connection alive with
 * pings (OkHttp, Starscream) send one every few seconds.
 */
export const WS_PING_BURST = 20;
export const WS_PINGS_PER_SEC = 10;

/** What this file needs of a ws WebSocket. */
interface PingingSocket {
  on(event: 'ping', listener: (this: PingingSocket) => void): unknown;
  terminate(): void;
}

/**
 * engine.io's hook for every WebSocket it accepts, a new session's or an upgrade's (not in
 * its types). Its 'connection' and 'upgrade' events come later: an upgrade only once the
 * client's probe arrived, and a client that never sends one may ping for the whole
 * upgradeTimeout.
 */
interface Engine {
  onWebSocket(req: unknown, socket: unknown, websocket: PingingSocket): void;
}

/**
 * Counts the ping frames of every WebSocket of `engine` from its first frame, and terminates
 * a connection past the budget. `onCut` runs once per connection cut. One listener for all
 * sockets, and a bucket only for a socket that pings: idle connections are the memory goal's
 * unit (README, Performance), and a closure per socket was most of what this cost them.
 */
export function limitPings(engine: object, onCut: () => void): void {
  const logger = new Logger('PingBudget');
  const target = engine as Engine;
  if (typeof target.onWebSocket !== 'function') throw new Error('engine.io has no onWebSocket: check limitPings');
  const accept = target.onWebSocket.bind(target);
  // A bucket only for a socket that pings: most never send one.
  const budget = new CutBudget<PingingSocket>(WS_PING_BURST, WS_PINGS_PER_SEC);
  function onPing(this: PingingSocket): void {
    if (!budget.exceeded(this)) return;
    this.terminate();
    logger.warn(`a WebSocket sent over ${WS_PING_BURST} ping frames at once or ${WS_PINGS_PER_SEC} a second: cut`);
    onCut();
  }
  target.onWebSocket = (req, socket, ws) => {
    ws.on('ping', onPing);
    accept(req, socket, ws);
  };
}
