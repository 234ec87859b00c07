import { EventEmitter } from 'node:events';
import { of, throwError } from 'rxjs';
import type { Socket } from 'socket.io';
import { SocketHandlerBinder } from './socket-handlers';

type Callback = (data: unknown, ack?: unknown) => unknown;

/** A socket as the server sees it: events come in through EventEmitter, emit sends to the client. */
function fakeSocket() {
  const socket = new EventEmitter() as EventEmitter & { emitted: unknown[][] };
  socket.emitted = [];
  const receive = socket.emit.bind(socket);
  const send = jest.fn((...args: unknown[]) => socket.emitted.push(args));
  return { socket: Object.assign(socket, { emit: send }), receive };
}

describe('SocketHandlerBinder', () => {
  const setup = (callback: Callback, isAckHandledManually = false) => {
    const { socket, receive } = fakeSocket();
    const logger = { error: jest.fn() };
    new SocketHandlerBinder(logger).bind(socket as unknown as Socket, [
      { message: 'ping', callback: callback as never, isAckHandledManually },
    ]);
    return { fire: (...args: unknown[]) => receive('ping', ...args), socket, logger };
  };
  const flush = () => new Promise((r) => setImmediate(r));

  it('calls the handler with the payload and acks with its result', async () => {
    const handler = jest.fn((data: unknown) => Promise.resolve({ ok: true, data }));
    const { fire } = setup(handler);
    const ack = jest.fn();
    fire({ chatroomId: 1 }, ack);
    await flush();
    expect(handler).toHaveBeenCalledWith({ chatroomId: 1 }, ack);
    expect(ack).toHaveBeenCalledWith({ ok: true, data: { chatroomId: 1 } });
  });

  it('takes a payload without an ack, and an ack without a payload', async () => {
    const handler = jest.fn(() => Promise.resolve('done'));
    const { fire } = setup(handler);
    fire({ a: 1 });
    const ack = jest.fn();
    fire(ack);
    await flush();
    expect(handler.mock.calls).toEqual([
      [{ a: 1 }, undefined],
      [undefined, ack],
    ]);
    expect(ack).toHaveBeenCalledWith('done');
  });

  it('emits {event, data} results, skips empty ones and manual acks', async () => {
    const { fire, socket } = setup((d) => Promise.resolve(d === 'emit' ? { event: 'pong', data: 2 } : undefined));
    const ack = jest.fn();
    fire('emit', ack);
    fire('nothing', ack);
    await flush();
    expect(socket.emitted).toEqual([['pong', 2]]);
    expect(ack).not.toHaveBeenCalled();
    const manual = setup(() => Promise.resolve('x'), true);
    manual.fire({}, ack);
    await flush();
    expect(ack).not.toHaveBeenCalled();
  });

  it('logs failures and keeps serving the event', async () => {
    let n = 0;
    const { fire, logger } = setup(() => (n++ === 0 ? throwError(() => new Error('boom')) : Promise.resolve('ok')));
    const ack = jest.fn();
    fire({}, ack);
    fire({}, ack);
    await flush();
    expect(logger.error).toHaveBeenCalledWith(expect.objectContaining({ message: 'boom' }));
    expect(ack).toHaveBeenCalledWith('ok');
  });

  it('answers a promise of an observable, a plain value, and logs a rejected promise', async () => {
    const results: unknown[] = [
      Promise.resolve(of('from an observable')),
      'plain',
      Promise.reject(new Error('late boom')),
    ];
    const { fire, logger } = setup(() => results.shift());
    const acks = [jest.fn(), jest.fn(), jest.fn()];
    for (const ack of acks) fire({}, ack);
    await flush();
    expect(acks[0]).toHaveBeenCalledWith('from an observable');
    expect(acks[1]).toHaveBeenCalledWith('plain');
    expect(acks[2]).not.toHaveBeenCalled();
    expect(logger.error).toHaveBeenCalledWith(expect.objectContaining({ message: 'late boom' }));
  });

  it("shares one listener per event among sockets, each calling its own socket's handlers", async () => {
    const binder = new SocketHandlerBinder({ error: jest.fn() });
    const bound = (who: string) => [
      {
        message: 'join',
        callback: ((d: unknown) => Promise.resolve(`${who} joins ${String(d)}`)) as never,
        isAckHandledManually: false,
      },
      {
        message: 'leave',
        callback: ((d: unknown) => Promise.resolve(`${who} leaves ${String(d)}`)) as never,
        isAckHandledManually: false,
      },
    ];
    const a = fakeSocket();
    const b = fakeSocket();
    binder.bind(a.socket as unknown as Socket, bound('a'));
    binder.bind(b.socket as unknown as Socket, bound('b'));
    expect(a.socket.listeners('join')[0]).toBe(b.socket.listeners('join')[0]);
    expect(a.socket.listeners('join')[0]).not.toBe(a.socket.listeners('leave')[0]);
    const acks = [jest.fn(), jest.fn(), jest.fn()];
    b.receive('leave', 1, acks[0]);
    a.receive('join', 2, acks[1]);
    a.receive('leave', 3, acks[2]);
    await flush();
    expect(acks.map((ack) => ack.mock.calls[0][0])).toEqual(['b leaves 1', 'a joins 2', 'a leaves 3']);
  });
});
