import { EventEmitter } from 'node:events';
import { limitPings, WS_PING_BURST, WS_PINGS_PER_SEC } from './ping-budget';

describe('limitPings', () => {
  function setup() {
    const accepted: unknown[] = [];
    const engine = { onWebSocket: (_req: unknown, _socket: unknown, ws: unknown) => void accepted.push(ws) };
    const onCut = jest.fn();
    limitPings(engine, onCut);
    const ws = Object.assign(new EventEmitter(), { terminate: jest.fn() });
    engine.onWebSocket({}, {}, ws);
    return { ws, onCut, accepted };
  }

  afterEach(() => jest.useRealTimers());

  it('lets a burst and a steady rate through, hands the socket on to engine.io', () => {
    jest.useFakeTimers({ now: 0 });
    const { ws, onCut, accepted } = setup();
    expect(accepted).toEqual([ws]);
    for (let i = 0; i < WS_PING_BURST; i++) ws.emit('ping');
    for (let s = 0; s < 5; s++) {
      jest.setSystemTime(1000 * (s + 1));
      for (let i = 0; i < WS_PINGS_PER_SEC; i++) ws.emit('ping');
    }
    expect(ws.terminate).not.toHaveBeenCalled();
    expect(onCut).not.toHaveBeenCalled();
  });

  it('terminates past the budget, once however many pings follow', () => {
    jest.useFakeTimers({ now: 0 });
    const { ws, onCut } = setup();
    for (let i = 0; i < WS_PING_BURST + 100; i++) ws.emit('ping');
    expect(ws.terminate).toHaveBeenCalledTimes(1);
    expect(onCut).toHaveBeenCalledTimes(1);
  });

  it('fails at boot when engine.io no longer has the hook', () => {
    expect(() => limitPings({}, jest.fn())).toThrow(/onWebSocket/);
  });
});
