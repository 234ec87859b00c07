import type { Socket } from 'socket.io';
import { ClientEvent, ServerEvent } from '../common/constants';
import { ErrorCode } from '../common/errors';
import { type Bucket, takeToken, tokenWait } from './rate-limiter';

export interface EventBudget {
  ratePerSec: number;
  burst: number;
}

/** The two budgets of a socket, or of a user's sockets together: `typing`, and every other event. */
export interface EventBudgets {
  events: EventBudget;
  typing: EventBudget;
}

/** The buckets of those budgets, made on first use. */
export interface Buckets {
  events?: Bucket;
  typing?: Bucket;
}

export interface EventGate {
  /** Each socket's own budgets. */
  socket: EventBudgets;
  /** The user's budgets and the buckets its sockets on this instance share (UserSockets). */
  user?: { budgets: EventBudgets; buckets: Buckets };
  /** The events that have a handler; any other is charged, then answered VALIDATION_FAILED. */
  known?: ReadonlySet<string>;
  /** A refusal by the socket's budget or the user's. */
  onLimited?: (scope: 'socket' | 'user', event: string) => void;
  /** The connection was cut for flooding (FLOOD_*). */
  onCut?: () => void;
  now?: () => number;
}

/** What the gate offers the socket's handlers. */
export interface SocketGate {
  /** A sendMessage was accepted (or failed for the server's reasons): its event token goes back. */
  refundSend(): void;
  /**
   * An event did the work of `extra` more (markRead recounts every room of the user's): they
   * are taken from the socket's and the user's event budgets after the fact, which may go
   * below zero, so the next events wait longer.
   */
  charge(extra: number): void;
}

/**
 * Refusals a connection may collect, FLOOD_BURST at once and FLOOD_PER_SEC a second after
 * that, before it is cut. Only refusals of events that came before the time the last refusal
 * named count: even a client sending `typing` on every keystroke collects a few a second.
 */
export const FLOOD_BURST = 200;
export const FLOOD_PER_SEC = 20;
/**
 * How early an event may come and still count as having waited: a timer set for
 * `retryAfterMs` can fire a millisecond early by the server's clock (both round to ms).
 */
const WAIT_SLACK_MS = 1;

const SOCKET_LIMITED = 'Too many events on this connection; slow down';
const USER_LIMITED = "Too many events on this user's connections; slow down";
/** How much of a client's event name an answer repeats. */
const NAME_MAX = 64;

/**
 * The gate every client event passes before its handler (a socket.io middleware).
 *
 * Every socket event costs the server something: a `sync` reads history, a `joinRoom` a
 * membership, a `typing` one emit per member of the room. Without a budget, one client
 * looping on them slows everyone on the instance. So each socket gets a token bucket for its
 * events, and a smaller one for `typing`; and the user's sockets on this instance share a
 * second pair, so that opening more sockets does not multiply a user's rate. An event over
 * either budget is not run and is answered `{ok:false, error:{code:"RATE_LIMITED",
 * details:{retryAfterMs}}}` (or an `exception` event when it has no acknowledgement); one the
 * user's budget refused gives the socket its token back.
 *
 * sendMessage takes a token too, and gets it back once accepted (`refundSend`): accepted
 * sends are ChatService's per-user limit's to count, but a refused one (a bad payload, over
 * the send rate, a room not the user's) costs the budget like any event. Refusing a bad send
 * costs the server about five times what refusing here does (validation, an exception): a
 * probe that looped on them from one socket took a core and held other users' acks for
 * seconds. The token is taken at the gate, not charged after the refusal: the packets of
 * one read all pass the gate before the first of them is refused.
 *
 * A connection that goes on past its refusals (FLOOD_*) is cut: even refusals cost the
 * server about 10 µs each, and a client ignoring `retryAfterMs` has no use for the answers.
 * The transport is closed after the refusals already written, as SlowConsumers does: the
 * client sees `transport close` and reconnects after its backoff. A refusal of the first
 * event to come at or after the time the last refusal named does not count: that client
 * waited as told, and was refused only because its token went to another of its events or
 * sockets. One that sends an event, waits `retryAfterMs` whenever refused and goes on had
 * one refusal per event at the budget's rate (50 a second), and was cut within 7 s.
 * `retryAfterMs` is the later of the two budgets' waits, so a client that waits it finds a
 * token in both.
 *
 * An event no handler takes (a typo, `toString`) would otherwise go unanswered and the client
 * wait forever: it is charged like any other, so it cannot buy more answers than a real
 * event, then answered VALIDATION_FAILED. `known` is a Set: a name such as `__proto__` is
 * never looked up on a prototype.
 *
 * The socket's buckets live in a closure of its middleware and die with the socket: no map
 * to prune and no timer, so an idle socket costs a few small objects. (A library limiter
 * keyed by socket id would keep a map entry and an expiry timer per socket.)
 */
export function limitSocketEvents(socket: Socket, gate: EventGate): SocketGate {
  const { socket: budgets, user, known, onLimited, onCut, now = Date.now } = gate;
  const own: Buckets = {};
  let patience: Bucket | undefined;
  let cut = false;
  /** Per budget: when the last refusal told the client to come back, and the last one forgiven. */
  const told = { events: -Infinity, typing: -Infinity };
  const forgiven = { events: -Infinity, typing: -Infinity };
  const refused = (packet: unknown[], kind: keyof Buckets, scope: 'socket' | 'user', wait: number, t: number) => {
    if (cut) return;
    refuse(socket, packet, scope, wait, onLimited);
    const waited = t >= told[kind] - WAIT_SLACK_MS && t > forgiven[kind];
    told[kind] = t + wait;
    if (waited) {
      forgiven[kind] = t;
      return;
    }
    patience ??= { tokens: FLOOD_BURST, at: t };
    if (!takeToken(patience, FLOOD_PER_SEC, FLOOD_BURST, t)) return;
    cut = true;
    onCut?.();
    socket.conn.close();
  };
  const bucketOf = (buckets: Buckets, kind: keyof Buckets, budget: EventBudget, t: number) =>
    (buckets[kind] ??= { tokens: budget.burst, at: t });
  /** How long until the user's budget has a token too (0 without one). */
  const userWait = (kind: keyof Buckets, t: number) => {
    if (!user) return 0;
    const shared = user.budgets[kind];
    return tokenWait(bucketOf(user.buckets, kind, shared, t), shared.ratePerSec, shared.burst, t);
  };
  const giveBack = (b: Bucket | undefined, burst: number) => {
    if (b) b.tokens = Math.min(burst, b.tokens + 1);
  };
  socket.use((packet, next) => {
    const event: unknown = packet[0];
    const t = now();
    const kind = event === ClientEvent.Typing ? 'typing' : 'events';
    const budget = budgets[kind];
    const bucket = bucketOf(own, kind, budget, t);
    let retryAfterMs = takeToken(bucket, budget.ratePerSec, budget.burst, t);
    if (retryAfterMs) return refused(packet, kind, 'socket', Math.max(retryAfterMs, userWait(kind, t)), t);
    if (user) {
      const shared = user.budgets[kind];
      retryAfterMs = takeToken(bucketOf(user.buckets, kind, shared, t), shared.ratePerSec, shared.burst, t);
      if (retryAfterMs) {
        bucket.tokens += 1;
        return refused(packet, kind, 'user', retryAfterMs, t);
      }
    }
    if (known && !known.has(event as string)) {
      return answerEvent(socket, packet, {
        code: ErrorCode.ValidationFailed,
        message: `Unknown event ${JSON.stringify(nameOf(event))}`,
      });
    }
    next();
  });
  /** Brought to now first, so that a later refill does not undo the charge. */
  const take = (buckets: Buckets, budget: EventBudget, extra: number, t: number) => {
    const b = bucketOf(buckets, 'events', budget, t);
    tokenWait(b, budget.ratePerSec, budget.burst, t);
    b.tokens -= extra;
  };
  return {
    refundSend() {
      giveBack(own.events, budgets.events.burst);
      if (user) giveBack(user.buckets.events, user.budgets.events.burst);
    },
    charge(extra) {
      if (extra <= 0) return;
      const t = now();
      take(own, budgets.events, extra, t);
      if (user) take(user.buckets, user.budgets.events, extra, t);
    },
  };
}

function refuse(
  socket: Socket,
  packet: unknown[],
  scope: 'socket' | 'user',
  retryAfterMs: number,
  onLimited: EventGate['onLimited'],
): void {
  onLimited?.(scope, nameOf(packet[0]));
  const message = scope === 'socket' ? SOCKET_LIMITED : USER_LIMITED;
  answerEvent(socket, packet, { code: ErrorCode.RateLimited, message, details: { retryAfterMs } });
}

/** A refusal of a client event: through its acknowledgement, else as an `exception` event. */
export function answerEvent(
  socket: Socket,
  packet: unknown[],
  error: { code: ErrorCode; message: string; details?: unknown },
): void {
  const ack: unknown = packet[packet.length - 1];
  if (typeof ack === 'function') (ack as (r: unknown) => void)({ ok: false, error });
  else socket.emit(ServerEvent.Exception, { event: nameOf(packet[0]), ...error });
}

/** The event's name as answers repeat it: a client's name may be anything up to a frame long. */
function nameOf(event: unknown): string {
  const name = String(event);
  return name.length > NAME_MAX ? `${name.slice(0, NAME_MAX)}…` : name;
}
