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
    // One that does not is cut at the first refusal past 200 it did not wait for (20 a second
    // come back); the first of the flood came when told, so it is forgiven.
    for (let i = 0; i < 201; i++) receive('joinRoom', {});
    expect(close).not.toHaveBeenCalled();
    receive('joinRoom', {});
    expect(close).toHaveBeenCalledTimes(1);
    expect(cuts).toBe(1);
    expect(emitted).toHaveLength(502); // every refusal was answered, the last one too
    for (let i = 0; i < 10; i++) expect(receive('joinRoom', {})).toBe(false);
    expect(close).toHaveBeenCalledTimes(1);
    expect(emitted).toHaveLength(502); // after the cut, nothing more is written
  });

  describe('a client that waits retryAfterMs', () => {
    /** Seeded, so a failure replays (mulberry32). */
    const random = (seed: number) => () => {
      seed = (seed + 0x6d2b79f5) | 0;
      let x = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
      return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
    };
    /** The wait the latest refusal named (0 before any). */
    const retryAfter = (emitted: unknown[][]) =>
      (emitted.at(-1)?.[1] as { details: { retryAfterMs: number } } | undefined)?.details.retryAfterMs ?? 0;
    const cuttable = (socket: Socket) => {
      const close = jest.fn();
      (socket as unknown as { conn: { close: () => void } }).conn = { close };
      return close;
    };

    it('is never cut, though it sends again the moment an event is answered (one refusal per event)', () => {
      const { socket, receive, emitted } = fakeSocket();
      const close = cuttable(socket);
      limitSocketEvents(socket, { socket: { events: { ratePerSec: 50, burst: 500 }, typing: TYPING }, now });
      const next = random(1);
      const start = clock;
      let ran = 0;
      let typedAt = clock;
      while (clock < start + 60_000) {
        // Typing on every keystroke, refusals unread: those count, but not against the joins.
        if (clock - typedAt >= 200) {
          typedAt = clock;
          receive('typing', {}, () => {});
        }
        if (receive('joinRoom', {})) ran++;
        // Refused: back after the wait, by a timer that may fire a millisecond early.
        else clock += retryAfter(emitted) - (next() < 0.3 ? 1 : 0);
        clock += Math.floor(next() * 3); // the round trip
      }
      expect(close).not.toHaveBeenCalled();
      expect(emitted.length).toBeGreaterThan(1000); // refused all along, at the budget's rate
      expect(ran).toBeGreaterThan(500 + 50 * 59);
    });

    it("is never cut when the user's budget, spent by its other sockets, refuses it; and is told when both have a token", () => {
      const user = { budgets: { events: { ratePerSec: 20, burst: 10 }, typing: TYPING }, buckets: {} as Buckets };
      const budgets = { events: { ratePerSec: 50, burst: 20 }, typing: TYPING };
      const [a, b] = [fakeSocket(), fakeSocket()];
      const closes = [cuttable(a.socket), cuttable(b.socket)];
      limitSocketEvents(a.socket, { socket: budgets, user, now });
      limitSocketEvents(b.socket, { socket: budgets, user, now });
      const next = random(2);
      const due = [clock, clock];
      const start = clock;
      while (clock < start + 30_000) {
        const i = due[0] <= due[1] ? 0 : 1;
        const s = [a, b][i];
        clock = due[i];
        due[i] = s.receive('markRead', {}) ? clock + Math.floor(next() * 3) : clock + retryAfter(s.emitted);
      }
      expect(closes[0]).not.toHaveBeenCalled();
      expect(closes[1]).not.toHaveBeenCalled();
      expect(a.emitted.length + b.emitted.length).toBeGreaterThan(500);
      // Refused by its own budget while the user's is emptier: told the later of the two waits.
      const c = fakeSocket();
      const spent = { budgets: user.budgets, buckets: { events: { tokens: 0, at: clock } } };
      limitSocketEvents(c.socket, {
        socket: { events: { ratePerSec: 50, burst: 1 }, typing: TYPING },
        user: spent,
        now,
      });
      spent.buckets.events.tokens = 1;
      expect(c.receive('markRead', {})).toBe(true); // the socket's one token, and the user's
      clock += 1;
      expect(c.receive('markRead', {})).toBe(false);
      expect(retryAfter(c.emitted)).toBe(49); // the user's 20 a second: 0.02 tokens now (its own: 19 ms)
    });

    it('does not shelter a client that comes back early, or with a burst each time it is told', () => {
      for (const early of [true, false]) {
        const { socket, receive, emitted } = fakeSocket();
        const close = cuttable(socket);
        limitSocketEvents(socket, { socket: { events: { ratePerSec: 50, burst: 10 }, typing: TYPING }, now });
        for (let i = 0; i < 10_000 && !close.mock.calls.length; i++) {
          if (early) {
            if (!receive('joinRoom', {})) clock += Math.max(0, retryAfter(emitted) - 5);
          } else {
            for (let j = 0; j < 5; j++) receive('joinRoom', {});
            clock += retryAfter(emitted);
          }
        }
        expect(close).toHaveBeenCalledTimes(1);
      }
    });
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

  it('charge takes extra events from the socket and the user, after a refill, so the next ones wait', () => {
    const { socket, receive } = fakeSocket();
    const shared: Buckets = {};
    const gate = limitSocketEvents(socket, {
      socket: { events: { ratePerSec: 10, burst: 30 }, typing: TYPING },
      user: { budgets: { events: { ratePerSec: 10, burst: 30 }, typing: TYPING }, buckets: shared },
      now,
    });
    expect(receive('markRead', { chatroomId: 1, seq: 1 })).toBe(true);
    clock += 500; // refills what was taken: the charge must not be undone by it
    gate.charge(20);
    expect(shared.events!.tokens).toBe(10);
    const runs = Array.from({ length: 12 }, () => receive('joinRoom', { chatroomId: 1 }));
    expect(runs.filter(Boolean)).toHaveLength(10);
    gate.charge(0); // nothing to take
    expect(shared.events!.tokens).toBe(0);
  });
});
