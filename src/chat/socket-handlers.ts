import type { Logger, WsMessageHandler } from '@nestjs/common';
import { isObservable, type Observable } from 'rxjs';
import type { Socket } from 'socket.io';

type Handler = WsMessageHandler['callback'];
type Log = Pick<Logger, 'error'>;

/** One gateway's events, in the order Nest hands them over, and a listener for each. */
interface EventTable {
  /** Where a socket keeps its own handlers (Nest binds each one to the socket). */
  readonly slot: symbol;
  readonly events: string[];
  readonly listeners: ((this: Socket, ...args: unknown[]) => void)[];
}

/**
 * Binds a gateway's @SubscribeMessage handlers to each socket: the same dispatch as Nest's
 * IoAdapter.bindMessageHandlers (pipes, guards, filters all run inside the handler, the ack
 * gets the result, `{event, data}` results are emitted, failures are logged), without what
 * it keeps per socket.
 *
 * Nest builds, for every socket and every handler, `fromEvent → mergeMap → takeUntil
 * (disconnect) → subscribe`, kept alive for the socket's whole life: about 25 KiB of heap for
 * each idle connection (heap snapshots, `npm run bench:idle -- --heap-snapshots=1`). Then
 * one closure and one context per handler and socket, plus Nest's handler records: still
 * the largest part of what an idle socket costs above bare socket.io. Now the listeners are
 * shared by every socket (EventEmitter calls them with the socket as `this`), and a socket
 * keeps one array: its handlers, which Nest has bound to it. Listeners die with the socket,
 * so no disconnect stream is needed to tear anything down.
 */
export class SocketHandlerBinder {
  /** By the gateway's event names: one table per gateway, shared by all its sockets. */
  private readonly tables = new Map<string, EventTable>();

  constructor(private readonly logger: Log) {}

  bind(socket: Socket, handlers: WsMessageHandler[]): void {
    const table = this.tableFor(handlers);
    (socket as unknown as Record<symbol, Handler[]>)[table.slot] = handlers.map((h) => h.callback);
    for (let i = 0; i < table.events.length; i++) socket.on(table.events[i], table.listeners[i]);
  }

  private tableFor(handlers: WsMessageHandler[]): EventTable {
    const key = handlers.map((h) => `${h.message}${h.isAckHandledManually ? '!' : ''}`).join('\n');
    let table = this.tables.get(key);
    if (!table) {
      const slot = Symbol('gateway handlers');
      const { logger } = this;
      table = {
        slot,
        events: handlers.map((h) => h.message),
        listeners: handlers.map(
          ({ isAckHandledManually }, i) =>
            function dispatchEvent(this: Socket, ...args: unknown[]) {
              const handler = (this as unknown as Record<symbol, Handler[]>)[slot][i];
              dispatch(this, handler, isAckHandledManually, args, logger);
            },
        ),
      };
      this.tables.set(key, table);
    }
    return table;
  }
}

/**
 * Runs one event. Every gateway handler is async: its promise is awaited directly (Nest's
 * transform wraps each one in RxJS, from, mergeAll and their subscribers, to reach the same
 * answer). An observable is subscribed, anything else is the answer.
 */
function dispatch(socket: Socket, handler: Handler, manual: boolean, args: unknown[], logger: Log): void {
  const { data, ack } = mapPayload(args);
  const reply: Reply = { socket, ack, manual, logger };
  let result: unknown;
  try {
    result = handler(data, ack);
  } catch (err) {
    logger.error(err);
    return;
  }
  if (result instanceof Promise) {
    result.then(
      (value: unknown) => (isObservable(value) ? subscribe(value, reply) : answer(value, reply)),
      (err: unknown) => logger.error(err),
    );
  } else if (isObservable(result)) subscribe(result, reply);
  else answer(result, reply);
}

interface Reply {
  socket: Socket;
  ack: unknown;
  /** The handler acks itself (@Ack()): its result is not an ack. */
  manual: boolean;
  logger: Log;
}

/** A handler's result: `{event, data}` is emitted, anything else but nothing is the ack. */
function answer(response: unknown, { socket, ack, manual }: Reply): void {
  if (response === null || response === undefined) return;
  const r = response as { event?: string; data?: unknown };
  if (r.event) socket.emit(r.event, r.data);
  else if (!manual && typeof ack === 'function') (ack as (r: unknown) => void)(response);
}

function subscribe(result: Observable<unknown>, reply: Reply): void {
  result.subscribe({ next: (response) => answer(response, reply), error: (err: unknown) => reply.logger.error(err) });
}

/** socket.io calls a listener with the payload and, last, the ack callback when there is one. */
function mapPayload(args: unknown[]): { data: unknown; ack?: unknown } {
  const last = args.at(-1);
  if (typeof last !== 'function') return { data: args.length <= 1 ? args[0] : args };
  const rest = args.slice(0, -1);
  return { data: rest.length === 1 ? rest[0] : rest.length === 0 ? undefined : rest, ack: last };
}
