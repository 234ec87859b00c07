import type { ArgumentsHost, ExceptionFilter, PipeTransform } from '@nestjs/common';
import { EventEmitter } from 'node:events';
import type { Socket } from 'socket.io';
import { clientEventsOf, OnClientEvent, SocketDispatcher } from './socket-dispatch';

class PingDto {
  n!: number;
}

class Gateway {
  calls: unknown[][] = [];
  @OnClientEvent('ping')
  async ping(socket: Socket, dto: PingDto) {
    this.calls.push([socket, dto]);
    if (dto.n < 0) throw new Error('negative');
    return Promise.resolve({ ok: true, data: dto.n });
  }
  @OnClientEvent('quiet')
  async quiet(_socket: Socket, _dto: PingDto): Promise<undefined> {
    return Promise.resolve(undefined);
  }
  notAnEvent() {}
}

function setup() {
  const gateway = new Gateway();
  const transform = jest.fn((value: unknown) => Promise.resolve({ n: Number(value) }));
  const pipe: PipeTransform = { transform };
  const caught: { err: unknown; args: unknown[]; type: string }[] = [];
  const filter: ExceptionFilter = {
    catch: (err: unknown, host: ArgumentsHost) => caught.push({ err, args: host.getArgs(), type: host.getType() }),
  };
  const dispatcher = new SocketDispatcher(gateway, pipe, filter);
  const socket = () => {
    const s = new EventEmitter() as EventEmitter & Socket;
    dispatcher.attach(s);
    return s;
  };
  return { gateway, transform, caught, socket };
}

const flush = () => new Promise((r) => setImmediate(r));

describe('SocketDispatcher', () => {
  it('finds the client events of a gateway, with the DTO of their payload', () => {
    expect(clientEventsOf(Gateway.prototype)).toEqual([
      { event: 'ping', method: 'ping', dto: PingDto },
      { event: 'quiet', method: 'quiet', dto: PingDto },
    ]);
  });

  it('names its events in a Set, so no other name (toString, __proto__) is taken for one', () => {
    const dispatcher = new SocketDispatcher(new Gateway(), { transform: (v: unknown) => v }, { catch: () => {} });
    expect([...dispatcher.names]).toEqual(['ping', 'quiet']);
    for (const name of ['toString', '__proto__', 'constructor', 'notAnEvent', 'calls']) {
      expect(dispatcher.names.has(name)).toBe(false);
    }
  });

  it('runs the payload through the pipe into the handler, with the socket, and acks the result', async () => {
    const { gateway, transform, socket } = setup();
    const s = socket();
    const ack = jest.fn();
    s.emit('ping', '7', ack);
    await flush();
    expect(transform).toHaveBeenCalledWith('7', { type: 'body', metatype: PingDto, data: undefined });
    expect(gateway.calls).toEqual([[s, { n: 7 }]]);
    expect(ack).toHaveBeenCalledWith({ ok: true, data: 7 });
  });

  it('takes an event without an ack or without a payload, and sends no ack for nothing', async () => {
    const { gateway, socket } = setup();
    const s = socket();
    s.emit('ping', '1');
    const ack = jest.fn();
    s.emit('ping', ack);
    s.emit('quiet', '2', ack);
    await flush();
    expect(gateway.calls.map(([, dto]) => dto)).toEqual([{ n: 1 }, { n: NaN }]);
    expect(ack).toHaveBeenCalledTimes(1);
  });

  it('hands a failure of the pipe or the handler to the filter, as a ws host [socket, data, ack, event]', async () => {
    const { transform, caught, socket } = setup();
    const s = socket();
    const ack = jest.fn();
    s.emit('ping', '-1', ack);
    transform.mockRejectedValueOnce(new Error('invalid'));
    s.emit('ping', 'x');
    await flush();
    const byMessage = new Map(caught.map((c) => [(c.err as Error).message, c.args]));
    expect(byMessage.get('negative')).toEqual([s, '-1', ack, 'ping']); // from the handler
    expect(byMessage.get('invalid')).toEqual([s, 'x', undefined, 'ping']); // from the pipe
    expect(caught.every((c) => c.type === 'ws')).toBe(true);
    expect(ack).not.toHaveBeenCalled();
  });

  it('shares one listener per event among sockets, each handler getting its own socket', async () => {
    const { gateway, socket } = setup();
    const [a, b] = [socket(), socket()];
    expect(a.listeners('ping')[0]).toBe(b.listeners('ping')[0]);
    b.emit('ping', '2');
    a.emit('ping', '1');
    await flush();
    expect(gateway.calls.map(([s]) => s)).toEqual([b, a]);
  });

  it("starts a socket's handlers in the order its events came, however long each one's validation took", async () => {
    const { gateway, transform, caught, socket } = setup();
    // Validation of '1' takes many steps (class-validator's walk), of '2' one (a fast check).
    const ticks = <T>(n: number, value: T): Promise<T> =>
      Array.from({ length: n }).reduce<Promise<T>>((p) => p.then((v) => v), Promise.resolve(value));
    transform.mockImplementation((value: unknown) => ticks(Number(value) === 1 ? 20 : 0, { n: Number(value) }));
    const [a, b] = [socket(), socket()];
    a.emit('ping', '1');
    a.emit('ping', '2');
    b.emit('ping', '3'); // another socket's event waits for nobody
    await flush();
    expect(gateway.calls.map(([s, dto]) => [s === a ? 'a' : 'b', dto])).toEqual([
      ['b', { n: 3 }],
      ['a', { n: 1 }],
      ['a', { n: 2 }],
    ]);

    // A refusal waiting behind a slow event is answered in its turn, not left unhandled.
    transform.mockImplementationOnce((value: unknown) => ticks(20, { n: Number(value) }));
    transform.mockImplementationOnce(() => Promise.reject(new Error('invalid')));
    a.emit('ping', '4');
    a.emit('ping', 'x');
    a.emit('ping', '5');
    await flush();
    expect(gateway.calls.slice(3).map(([, dto]) => dto)).toEqual([{ n: 4 }, { n: 5 }]);
    expect(caught.map((c) => (c.err as Error).message)).toEqual(['invalid']);
  });
});
