import { EventEmitter } from 'node:events';
import type { ServerResponse } from 'node:http';
import type { Socket as TcpSocket } from 'node:net';
import { POLLING_ANSWER_SOCKETS_MAX, PollingAnswers } from './polling-answers';

/** A TCP socket and an answer on it, as far as PollingAnswers looks at them. */
function answer(state: { ended?: boolean; finished?: boolean; pending?: number; busy?: boolean } = {}) {
  const reset = jest.fn();
  const socket = Object.assign(new EventEmitter(), {
    writableLength: state.pending ?? 0,
    _httpMessage: state.busy ? {} : null,
    resetAndDestroy: reset,
  });
  const res = { writableEnded: state.ended ?? true, writableFinished: state.finished ?? true };
  return { socket: socket as unknown as TcpSocket, res: res as ServerResponse, reset };
}

describe('PollingAnswers', () => {
  const session = () => new EventEmitter();

  it('counts the bytes of answers the kernel has not taken, and only those', () => {
    const a = PollingAnswers.for(session());
    const held = answer({ ended: false, finished: false });
    expect(a.admit(held.socket, held.res)).toBe(true);
    expect(a.unflushedBytes()).toBe(0); // a poll waiting for output is no backlog
    Object.assign(held.res, { writableEnded: true });
    Object.assign(held.socket, { writableLength: 5000 });
    expect(a.unflushedBytes()).toBe(5000);
    expect(a.hasUnflushed()).toBe(true);
  });

  it('refuses a poll while an earlier answer is unread, on the same connection or another', () => {
    const a = PollingAnswers.for(session());
    const first = answer({ finished: false, pending: 10 });
    expect(a.admit(first.socket, first.res)).toBe(true);
    expect(a.admit(answer().socket, answer().res)).toBe(false);
    expect(a.admit(first.socket, answer().res)).toBe(false);
  });

  it(`keeps ${POLLING_ANSWER_SOCKETS_MAX} connections: the oldest is reset when idle, forgotten when busy`, () => {
    const a = PollingAnswers.for(session());
    const busy = answer({ busy: true });
    const sockets = [busy, ...Array.from({ length: POLLING_ANSWER_SOCKETS_MAX + 1 }, () => answer())];
    for (const s of sockets) expect(a.admit(s.socket, s.res)).toBe(true);
    expect(busy.reset).not.toHaveBeenCalled();
    expect(sockets[1].reset).toHaveBeenCalled();
    expect(sockets.slice(2).every((s) => s.reset.mock.calls.length === 0)).toBe(true);
  });

  it('forgets a connection that closed', () => {
    const a = PollingAnswers.for(session());
    const s = answer({ finished: false, pending: 10 });
    a.admit(s.socket, s.res);
    s.socket.emit('close');
    expect(a.hasUnflushed()).toBe(false);
  });

  it('on close, resets its idle connections, not the one taking the last packet nor a busy one', () => {
    const conn = session();
    const a = PollingAnswers.for(conn);
    const read = answer();
    const unread = answer({ finished: false, pending: 10 });
    const waiting = answer({ ended: false, finished: false });
    const lastPacket = answer({ finished: false, pending: 0 });
    const busy = answer({ busy: true });
    for (const s of [read, waiting, busy, lastPacket]) a.admit(s.socket, s.res);
    a.admit(unread.socket, { ...unread.res, writableEnded: false } as typeof unread.res); // admitted before its answer
    conn.emit('close');
    expect([read, unread, waiting].every((s) => s.reset.mock.calls.length === 1)).toBe(true);
    expect(lastPacket.reset).not.toHaveBeenCalled();
    expect(busy.reset).not.toHaveBeenCalled();
  });
});
