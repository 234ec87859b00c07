import { EventEmitter } from 'node:events';
import { from, isObservable, mergeAll, type Observable, of, throwError } from 'rxjs';
import type { Socket } from 'socket.io';
import { bindSocketHandlers } from './socket-handlers';

/** Nest's own transform (WebSocketsController.subscribeMessages): a promise of a value or an observable. */
const transform = (result: unknown): Observable<unknown> =>
  from(Promise.resolve(result).then((r): Observable<unknown> => (isObservable(r) ? r : of(r)))).pipe(mergeAll());

describe('bindSocketHandlers', () => {
  const setup = (callback: (data: unknown, ack?: unknown) => unknown, isAckHandledManually = false) => {
    const socket = new EventEmitter() as EventEmitter & { emitted: unknown[][] };
    socket.emitted = [];
    const emit = socket.emit.bind(socket);
    // socket.emit from the server side sends to the client: record it instead of dispatching.
    const send = jest.fn((...args: unknown[]) => socket.emitted.push(args));
    const logger = { error: jest.fn() };
    bindSocketHandlers(
      Object.assign(socket, { emit: send }) as unknown as Socket,
      [{ message: 'ping', callback: callback as never, isAckHandledManually }],
      transform,
      logger,
    );
    return { fire: (...args: unknown[]) => emit('ping', ...args), socket, logger };
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
});
