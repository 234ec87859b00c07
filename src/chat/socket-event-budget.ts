import type { Socket } from 'socket.io';
import { ClientEvent, ServerEvent } from '../common/constants';
import { ErrorCode } from '../common/errors';
import { type Bucket, takeToken } from './rate-limiter';

export interface EventBudget {
  ratePerSec: number;
  burst: number;
}

/**
 * Every socket event costs the server something: a `sync` reads history, a `joinRoom` a
 * membership, a `typing` one emit per member of the room. Without a budget, one client
 * looping on them slows everyone on the instance. So each socket gets a token bucket for its
 * events, and a smaller one for `typing`; an event over budget is not run and is answered
 * `{ok:false, error:{code:"RATE_LIMITED", details:{retryAfterMs}}}` (or an `exception` event
 * when it has no acknowledgement). sendMessage is left to ChatService's per-user limit.
 *
 * The buckets live in a closure of the socket's middleware and die with the socket: no map
 * to prune and no timer, so an idle socket costs two small objects. (A library limiter
 * keyed by socket id would keep a map entry and an expiry timer per socket.)
 */
export function limitSocketEvents(
  socket: Socket,
  { events, typing }: { events: EventBudget; typing: EventBudget },
  onLimited: (event: string) => void = () => {},
  now: () => number = Date.now,
): void {
  let general: Bucket | undefined;
  let typingBucket: Bucket | undefined;
  socket.use((packet, next) => {
    const event = packet[0];
    if (event === ClientEvent.SendMessage) return next();
    const t = now();
    const isTyping = event === ClientEvent.Typing;
    const budget = isTyping ? typing : events;
    const bucket = isTyping
      ? (typingBucket ??= { tokens: typing.burst, at: t })
      : (general ??= { tokens: events.burst, at: t });
    const retryAfterMs = takeToken(bucket, budget.ratePerSec, budget.burst, t);
    if (!retryAfterMs) return next();
    onLimited(String(event));
    const error = {
      code: ErrorCode.RateLimited,
      message: 'Too many events on this connection; slow down',
      details: { retryAfterMs },
    };
    const ack: unknown = packet[packet.length - 1];
    if (typeof ack === 'function') (ack as (r: unknown) => void)({ ok: false, error });
    else socket.emit(ServerEvent.Exception, { event: String(event), ...error });
  });
}
