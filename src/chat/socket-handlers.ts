import type { Logger, WsMessageHandler } from '@nestjs/common';
import { isObservable, type Observable } from 'rxjs';
import type { Socket } from 'socket.io';

type Transform = (data: unknown) => Observable<unknown>;

/**
 * Binds a gateway's @SubscribeMessage handlers to one socket with one plain listener per
 * event: the same dispatch as Nest's IoAdapter.bindMessageHandlers (pipes, guards, filters
 * all run inside `callback`, the ack gets the result, `{event, data}` results are emitted,
 * failures are logged), without its per-socket RxJS pipelines.
 *
 * Nest builds, for every socket and every handler, `fromEvent → mergeMap → takeUntil
 * (disconnect) → subscribe`, kept alive for the socket's whole life. With six handlers that
 * was ~145 closures, ~125 contexts and 24 operator subscribers per socket: about 25 KiB of
 * heap for each idle connection, more than socket.io's own socket costs (heap snapshots,
 * `npm run bench:idle -- --heap-snapshots=1`). Plain listeners die with the socket, so no
 * disconnect stream is needed to tear them down.
 */
export function bindSocketHandlers(
  socket: Socket,
  handlers: WsMessageHandler[],
  transform: Transform,
  logger: Pick<Logger, 'error'>,
): void {
  for (const { message, callback, isAckHandledManually } of handlers) {
    socket.on(message, (...args: unknown[]) => {
      const { data, ack } = mapPayload(args);
      const reply = { socket, ack, manual: isAckHandledManually, logger };
      let result: unknown;
      try {
        result = callback(data, ack);
      } catch (err) {
        logger.error(err);
        return;
      }
      // Every handler here is async. Nest's transform wraps each promise in RxJS (from,
      // mergeAll, their subscribers) to reach the same answer; awaiting it directly skips
      // those objects on every event (sendMessage included). Anything else takes Nest's path.
      if (result instanceof Promise) {
        result.then(
          (value: unknown) => (isObservable(value) ? subscribe(value, reply) : answer(value, reply)),
          (err: unknown) => logger.error(err),
        );
        return;
      }
      const transformed = transform(result);
      if (isObservable(transformed)) subscribe(transformed, reply);
    });
  }
}

interface Reply {
  socket: Socket;
  ack: unknown;
  /** The handler acks itself (@Ack()): its result is not an ack. */
  manual: boolean;
  logger: Pick<Logger, 'error'>;
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
