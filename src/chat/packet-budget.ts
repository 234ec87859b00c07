import { Logger } from '@nestjs/common';
import type { AppConfig } from '../config/app-config';
import { CutBudget } from './rate-limiter';
import { cutConnection } from './slow-consumers';
import { FLOOD_BURST, FLOOD_PER_SEC } from './socket-event-budget';
import type { EngineOutput } from './socket-output';

/** engine.io packets a connection may send: `burst` at once and `perSec` a second after that. */
export interface PacketBudget {
  burst: number;
  perSec: number;
}

/**
 * What no client within its other budgets reaches: twice its accepted sends (SEND_*), its
 * other events (SOCKET_EVENT_*) and the refusals it may collect before the flood cut
 * (FLOOD_*), and never below 1,000 at once and 200 a second (pongs, attachments). With the
 * defaults: 1,480 at once, 200 a second. socket.io events are charged by those budgets; what
 * only this one sees are engine.io's own packets (pong, noop, and any packet of a connection
 * that never sent socket.io's CONNECT): a probe sending a stream of `3` (pong) frames from a
 * connection that never logged in kept 91 % of a core busy for as long as it liked.
 */
export function packetBudgetOf(config: AppConfig): PacketBudget {
  return {
    burst: Math.max(1000, 2 * (config.sendBurst + config.socketEventBurst + FLOOD_BURST)),
    perSec: Math.max(200, 2 * (config.sendRatePerSec + config.socketEventRatePerSec + FLOOD_PER_SEC)),
  };
}

/** What this file needs of an engine.io session (not in its types). */
interface EngineConn extends EngineOutput {
  on(event: 'packet', listener: (this: EngineConn) => void): unknown;
}

interface Engine {
  on(event: 'connection', listener: (conn: EngineConn) => void): unknown;
}

/**
 * Counts every packet of every engine.io session of `engine` and cuts a session past
 * `budget`, without a goodbye, as a slow consumer is. One listener for all sessions. `onCut`
 * runs once per session cut.
 */
export function limitPackets(engine: object, { burst, perSec }: PacketBudget, onCut: () => void): void {
  const logger = new Logger('PacketBudget');
  const budget = new CutBudget<EngineConn>(burst, perSec);
  function onPacket(this: EngineConn): void {
    if (!budget.exceeded(this)) return;
    cutConnection(this);
    logger.warn(`a connection sent over ${burst} engine.io packets at once or ${perSec} a second: cut`);
    onCut();
  }
  (engine as Engine).on('connection', (conn) => conn.on('packet', onPacket));
}
