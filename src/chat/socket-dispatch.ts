import { type ExceptionFilter, type PipeTransform, SetMetadata, type Type } from '@nestjs/common';
import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host';
import type { Socket } from 'socket.io';
import { ExtraArguments } from '../common/json-guard';

/** Metadata key of a client event's handler (see OnClientEvent). */
export const CLIENT_EVENT_METADATA = 'chat:client-event';

/**
 * Marks a gateway method `(socket, dto)` as the handler of a client event. SocketDispatcher
 * runs it: the payload through the pipe with the second parameter's type as the DTO, the
 * result as the ack, any failure through the filter.
 */
export const OnClientEvent = (event: string): MethodDecorator => SetMetadata(CLIENT_EVENT_METADATA, event);

type EventHandler = (socket: Socket, dto: unknown) => Promise<unknown>;
type Listener = (this: Socket, ...args: unknown[]) => void;

/** A gateway's `@OnClientEvent` methods (from its prototype): the event, the method and its payload's DTO. */
export function clientEventsOf(prototype: object): { event: string; method: string; dto: Type }[] {
  const proto = prototype as Record<string, unknown>;
  return Object.getOwnPropertyNames(proto).flatMap((method) => {
    const fn = proto[method];
    const event =
      typeof fn === 'function' ? (Reflect.getMetadata(CLIENT_EVENT_METADATA, fn) as string | undefined) : undefined;
    if (!event) return [];
    const [, dto] = (Reflect.getMetadata('design:paramtypes', proto, method) ?? []) as Type[];
    return [{ event, method, dto }];
  });
}

/**
 * Client events, dispatched in one step instead of through Nest's WebSocket pipeline.
 *
 * The gateway's events need exactly three things: the payload validated into its DTO (the
 * pipe), the handler's result as the ack, and every failure shaped by the exception filter.
 * Nest's @SubscribeMessage path does the same through its general machinery on every event
 * (param factories, pipes over each argument with Promise.all, guard and interceptor
 * consumers, an exception proxy): the largest allocation on the main thread after the
 * broadcast's socket writes and the send's Redis pipeline. It also binds every handler to
 * every socket, a bound function and its argument array per handler and idle connection.
 *
 * Here each event gets one listener, built once and shared by every socket: EventEmitter
 * calls it with the socket as `this`, so a connection costs no per-socket closure at all.
 * The pipe and the filter are the same classes Nest ran, so answers are unchanged.
 *
 * An event with no handler here is answered before it reaches the socket (the event gate,
 * socket-event-budget.ts, given `names`): socket.io drops one without a word, and a client
 * waiting for its acknowledgement waited forever.
 */
export class SocketDispatcher {
  private readonly listeners: [string, Listener][];
  /** The client events this dispatcher runs. */
  readonly names: ReadonlySet<string>;

  constructor(target: object, pipe: PipeTransform, filter: ExceptionFilter) {
    this.listeners = clientEventsOf(Object.getPrototypeOf(target) as object).map(({ event, method, dto }) => {
      const handler = (target as Record<string, EventHandler>)[method].bind(target);
      const metadata = { type: 'body' as const, metatype: dto, data: undefined };
      async function run(socket: Socket, data: unknown, ack: unknown): Promise<void> {
        try {
          const result = await handler(
            socket,
            await inArrivalOrder(socket, Promise.resolve<unknown>(pipe.transform(data, metadata))),
          );
          if (result !== undefined && typeof ack === 'function') (ack as (r: unknown) => void)(result);
        } catch (err) {
          const host = new ExecutionContextHost([socket, data, ack, event]);
          host.setType('ws');
          filter.catch(err, host);
        }
      }
      return [
        event,
        function dispatchEvent(this: Socket, ...args: unknown[]) {
          const last = args[args.length - 1];
          const ack = typeof last === 'function' ? last : undefined;
          void run(this, payloadOf(args, ack ? args.length - 1 : args.length), ack);
        },
      ];
    });
    this.names = new Set(this.listeners.map(([event]) => event));
  }

  /** Every client event of the gateway, on this socket. */
  attach(socket: Socket): void {
    for (const [event, listener] of this.listeners) socket.on(event, listener);
  }
}

/** Per socket: events whose handler has not been called yet, and the latest one's start. */
interface Order {
  waiting: number;
  last: Promise<unknown>;
}
const orders = new WeakMap<Socket, Order>();

/**
 * A socket's payload, validated, handed on only once the handler of every earlier event of
 * the socket has been called: handlers start in the order the events arrived. Validation
 * takes a varying number of steps (a DTO's fast check, or class-validator's full walk), so
 * a later event could overtake an earlier one: a `leaveRoom` (full walk) sent before a
 * `joinRoom` (fast check) reached its handler last, and two sends could take their seqs in
 * the wrong order. Only starts are ordered: a handler that waits (a database read) holds
 * up no other event. An event with none before it waiting, the usual case, is not chained.
 */
function inArrivalOrder(socket: Socket, validated: Promise<unknown>): Promise<unknown> {
  let order = orders.get(socket);
  if (!order) orders.set(socket, (order = { waiting: 0, last: validated }));
  let mine = validated;
  if (order.waiting > 0) {
    validated.catch(settled); // a refusal waiting its turn is answered in it, not unhandled
    mine = order.last.then(() => validated);
  }
  order.waiting++;
  const o = order;
  // Registered before the caller's own await on `mine` (which calls the handler), so both
  // are queued together when `mine` settles: nothing can start in between.
  o.last = mine.then(
    () => void o.waiting--,
    () => void o.waiting--,
  );
  return mine;
}

const settled = (): undefined => undefined;

/**
 * What a handler gets: the one payload, or nothing. More arguments before the ack stand as
 * ExtraArguments, which the payload pipe refuses saying so: Nest's way, an array of them, was
 * told "The payload must be a JSON object" about a payload that was one (a probe).
 */
function payloadOf(args: unknown[], count: number): unknown {
  return count === 1 ? args[0] : count === 0 ? undefined : new ExtraArguments(count);
}
