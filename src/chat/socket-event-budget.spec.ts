import type { Socket } from 'socket.io';
import { type Buckets, limitSocketEvents } from './socket-event-budget';

const TYPING = { ratePerSec: 2, burst: 10 };

type Middleware = (packet: unknown[], next: () => void) => void;

function fakeSocket() {
  let middleware: Middleware | undefined;
  const emitted: unknown[][] = [];
  const socket = {
    use: (fn: Middleware) => (middleware = fn),
    emit: (...args: unknown[]) => emitted.push(args),
  } as unknown as Socket;
  /** Runs one incoming packet through the middleware: true when the event would run. */
  const receive = (...packet: unknown[]) => {
    let ran = false;
    middleware!(packet, () => (ran = true));
    return ran;
  };
  return { socket, receive, emitted };
}

describe('limitSocketEvents', () => {
  let clock = 0;
  const now = () => clock;
  beforeEach(() => (clock = 1_000_000));

  it('runs events within the burst, then answers RATE_LIMITED with the wait, and refills at the rate', () => {
    const { socket, receive } = fakeSocket();
    const limited: string[] = [];
    limitSocketEvents(socket, {
      socket: { events: { ratePerSec: 10, burst: 3 }, typing: TYPING },
      onLimited: (scope, e) => limited.push(`${scope}:${e}`),
      now,
    });
    const acks: unknown[] = [];
    const ack = (r: unknown) => acks.push(r);
    expect([1, 2, 3].map(() => receive('joinRoom', { chatroomId: 1 }, ack))).toEqual([true, true, true]);
    expect(receive('sync', { rooms: [] }, ack)).toBe(false);
    expect(acks).toEqual([
      {
        ok: false,
        error: {
          code: 'RATE_LIMITED',
          message: 'Too many events on this connection; slow down',
          details: { retryAfterMs: 100 },
        },
      },
    ]);
    expect(limited).toEqual(['socket:sync']);
    clock += 100; // one token at 10 per second
    expect(receive('markRead', {}, ack)).toBe(true);
    expect(receive('markRead', {}, ack)).toBe(false);
  });

  it('charges a send at the gate and gives accepted ones their token back', () => {
    const { socket, receive } = fakeSocket();
    const gate = limitSocketEvents(socket, { socket: { events: { ratePerSec: 1, burst: 3 }, typing: TYPING }, now });
    // Accepted sends cost nothing: each takes the token and gets it back.
    for (let i = 0; i < 50; i++) {
      expect(receive('sendMessage', {})).toBe(true);
      gate.refundSend();
    }
    // Refused ones (no refund) spend the budget, as any event does; then sends are refused
    // here, without running, and so is every other event.
    expect([1, 2, 3].map(() => receive('sendMessage', {}))).toEqual([true, true, true]);
    const acks: unknown[] = [];
    expect(receive('sendMessage', {}, (r: unknown) => acks.push(r))).toBe(false);
    expect(receive('joinRoom', {})).toBe(false);
    expect(acks).toEqual([
      {
        ok: false,
        error: {
          code: 'RATE_LIMITED',
          message: 'Too many events on this connection; slow down',
          details: { retryAfterMs: 1000 },
        },
      },
    ]);
    gate.refundSend(); // a refund never lifts the bucket past its burst
    gate.refundSend();
    gate.refundSend();
    gate.refundSend();
    expect([1, 2, 3, 4].map(() => receive('joinRoom', {}))).toEqual([true, true, true, false]);
  });

  it("refuses sends while the user's budget is spent on any of its sockets, and refunds it too", () => {
    const buckets: Buckets = {};
    const user = { budgets: { events: { ratePerSec: 1, burst: 2 }, typing: TYPING }, buckets };
    const [a, b] = [fakeSocket(), fakeSocket()];
    const budgets = { events: { ratePerSec: 1, burst: 100 }, typing: TYPING };
    const gateA = limitSocketEvents(a.socket, { socket: budgets, user, now });
    limitSocketEvents(b.socket, { socket: budgets, user, now });
    expect([a.receive('sendMessage', {}), a.receive('sendMessage', {})]).toEqual([true, true]);
    expect(b.receive('sendMessage', {})).toBe(false);
    expect(b.emitted[0]).toEqual([
      'exception',
      expect.objectContaining({ event: 'sendMessage', code: 'RATE_LIMITED', message: expect.stringContaining('user') }),
    ]);
    gateA.refundSend(); // a's first send was accepted after all
    expect(b.receive('sendMessage', {})).toBe(true);
  });

  it('cuts a connection that goes on past its refusals, after answering them, and only once', () => {
    const { socket, receive, emitted } = fakeSocket();
    const close = jest.fn();
    (socket as unknown as { conn: { close: () => void } }).conn = { close };
    let cuts = 0;
    limitSocketEvents(socket, {
      socket: { events: { ratePerSec: 1, burst: 1 }, typing: TYPING },
      onCut: () => cuts++,
      now,
    });
    expect(receive('joinRoom', {})).toBe(true);
    // A client that waits for its token between refusals is never cut.
    for (let i = 0; i < 300; i++) {
      expect(receive('joinRoom', {})).toBe(false);
      clock += 1000;
      expect(receive('joinRoom', {})).toBe(true);
    }
    expect(close).not.toHaveBeenCalled();
    // One that does not is cut at the first refusal past 200 (20 a second come back).
    for (let i = 0; i < 200; i++) receive('joinRoom', {});
    expect(close).not.toHaveBeenCalled();
    receive('joinRoom', {});
    expect(close).toHaveBeenCalledTimes(1);
    expect(cuts).toBe(1);
    expect(emitted).toHaveLength(501); // every refusal was answered, the last one too
    for (let i = 0; i < 10; i++) expect(receive('joinRoom', {})).toBe(false);
    expect(close).toHaveBeenCalledTimes(1);
    expect(emitted).toHaveLength(501); // after the cut, nothing more is written
  });

  it('gives typing a budget of its own, and says why with an exception event when there is no ack', () => {
    const { socket, receive, emitted } = fakeSocket();
    limitSocketEvents(socket, { socket: { events: { ratePerSec: 100, burst: 100 }, typing: TYPING }, now });
    const typed = Array.from({ length: TYPING.burst + 5 }, () => receive('typing', { chatroomId: 1, typing: true }));
    expect(typed.filter(Boolean)).toHaveLength(TYPING.burst);
    expect(emitted).toHaveLength(5);
    expect(emitted[0]).toEqual([
      'exception',
      {
        event: 'typing',
        code: 'RATE_LIMITED',
        message: 'Too many events on this connection; slow down',
        details: { retryAfterMs: 500 },
      },
    ]);
    expect(receive('joinRoom', {})).toBe(true); // the general budget is untouched
  });

  it("shares the user's budget among its sockets, and a refusal by it costs the socket nothing", () => {
    const buckets: Buckets = {};
    const user = { budgets: { events: { ratePerSec: 1, burst: 4 }, typing: { ratePerSec: 1, burst: 2 } }, buckets };
    const socketBudgets = { events: { ratePerSec: 1, burst: 3 }, typing: TYPING };
    const limited: string[] = [];
    const onLimited = (scope: string, e: string) => limited.push(`${scope}:${e}`);
    const [a, b] = [fakeSocket(), fakeSocket()];
    limitSocketEvents(a.socket, { socket: socketBudgets, user, onLimited, now });
    limitSocketEvents(b.socket, { socket: socketBudgets, user, onLimited, now });
    const acks: unknown[] = [];
    const ack = (r: unknown) => acks.push(r);
    // Each socket is within its own 3; together they have the user's 4.
    expect([a, a, b, b, b].map((s) => s.receive('markRead', {}, ack))).toEqual([true, true, true, true, false]);
    expect(acks).toEqual([
      {
        ok: false,
        error: {
          code: 'RATE_LIMITED',
          message: "Too many events on this user's connections; slow down",
          details: { retryAfterMs: 1000 },
        },
      },
    ]);
    expect(limited).toEqual(['user:markRead']);
    // Typing has a pair of its own; sends wait while the user's events are spent.
    expect([a, b, a].map((s) => s.receive('typing', {}))).toEqual([true, true, false]);
    expect(a.emitted[0]).toEqual(['exception', expect.objectContaining({ event: 'typing', code: 'RATE_LIMITED' })]);
    expect(a.receive('sendMessage', {})).toBe(false);
    clock += 1000; // one token for the user; b's refused event did not spend b's own third
    expect(b.receive('sync', {})).toBe(true);
    expect(b.receive('sync', {})).toBe(false);
    expect(limited.at(-1)).toBe('user:sync');
  });

  it('answers an event no handler takes with VALIDATION_FAILED, after charging it; never a prototype lookup', () => {
    const { socket, receive, emitted } = fakeSocket();
    const known = new Set(['joinRoom', 'sendMessage']);
    limitSocketEvents(socket, { socket: { events: { ratePerSec: 1, burst: 8 }, typing: TYPING }, known, now });
    const acks: unknown[] = [];
    const ack = (r: unknown) => acks.push(r);
    for (const name of ['sendMesage', 'toString', '__proto__', 'constructor', 'hasOwnProperty']) {
      expect(receive(name, {}, ack)).toBe(false);
    }
    expect(acks).toEqual(
      ['sendMesage', 'toString', '__proto__', 'constructor', 'hasOwnProperty'].map((name) => ({
        ok: false,
        error: { code: 'VALIDATION_FAILED', message: `Unknown event "${name}"` },
      })),
    );
    // Without a callback: an exception event, repeating at most 64 characters of the name.
    expect(receive(42)).toBe(false);
    expect(receive('y'.repeat(1000), {})).toBe(false);
    expect(emitted).toEqual([
      ['exception', { event: '42', code: 'VALIDATION_FAILED', message: 'Unknown event "42"' }],
      [
        'exception',
        { event: `${'y'.repeat(64)}…`, code: 'VALIDATION_FAILED', message: `Unknown event "${'y'.repeat(64)}…"` },
      ],
    ]);
    // Known events pass untouched; the unknown ones spent the budget like any.
    expect(receive('joinRoom', {}, ack)).toBe(true);
    expect(receive('joinRoom', {}, ack)).toBe(false);
    expect(acks.at(-1)).toMatchObject({ ok: false, error: { code: 'RATE_LIMITED' } });
    expect(receive('sendMessage', {}, ack)).toBe(false); // sends too, while the budget is spent
  });
});
