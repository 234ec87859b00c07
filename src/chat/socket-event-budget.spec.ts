import type { Socket } from 'socket.io';
import { limitSocketEvents } from './socket-event-budget';

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
    limitSocketEvents(socket, { events: { ratePerSec: 10, burst: 3 }, typing: TYPING }, (e) => limited.push(e), now);
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
    expect(limited).toEqual(['sync']);
    clock += 100; // one token at 10 per second
    expect(receive('markRead', {}, ack)).toBe(true);
    expect(receive('markRead', {}, ack)).toBe(false);
  });

  it('leaves sendMessage to its own per-user limit', () => {
    const { socket, receive } = fakeSocket();
    limitSocketEvents(socket, { events: { ratePerSec: 1, burst: 1 }, typing: TYPING }, undefined, now);
    expect(Array.from({ length: 50 }, () => receive('sendMessage', {}))).not.toContain(false);
    expect(receive('joinRoom', {})).toBe(true);
    expect(receive('joinRoom', {})).toBe(false);
  });

  it('gives typing a budget of its own, and says why with an exception event when there is no ack', () => {
    const { socket, receive, emitted } = fakeSocket();
    limitSocketEvents(socket, { events: { ratePerSec: 100, burst: 100 }, typing: TYPING }, undefined, now);
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
});
