import type { Server, Socket } from 'socket.io';
import { SlowConsumers } from './slow-consumers';
import { outputBacklogBytes } from './socket-output';

/** A WebSocket client whose engine.io session holds `packets` unread. */
function stalled(id: string, packets: string[]) {
  const terminate = jest.fn();
  const socket = {
    id,
    data: { user: { id: 1 } },
    conn: {
      writeBuffer: packets.map((data) => ({ type: 'message', data })),
      transport: { name: 'websocket', writable: false, socket: { bufferedAmount: 0, terminate } },
      close: jest.fn(),
    },
  };
  return { socket: socket as unknown as Socket, terminate };
}

const serverOf = (sockets: Socket[]) =>
  ({ sockets: { sockets: new Map(sockets.map((s) => [s.id, s])) } }) as unknown as Server;

describe('SlowConsumers', () => {
  it('cuts the stalled connections one per event-loop turn, not all in the sweep', async () => {
    const clients = ['a', 'b', 'c'].map((id) => stalled(id, ['x'.repeat(2000)]));
    const cuts = jest.fn();
    const guard = new SlowConsumers(serverOf(clients.map((c) => c.socket)), 1000, cuts);
    expect(guard.sweep()).toBe(0); // first seen over the limit: looked at again next sweep
    expect(guard.sweep()).toBe(3);
    expect(clients.map((c) => c.terminate.mock.calls.length)).toEqual([1, 0, 0]);
    await new Promise((r) => setImmediate(r));
    expect(clients.map((c) => c.terminate.mock.calls.length)).toEqual([1, 1, 0]);
    await new Promise((r) => setImmediate(r));
    expect(clients.map((c) => c.terminate.mock.calls.length)).toEqual([1, 1, 1]);
    expect(cuts).toHaveBeenCalledTimes(3);
  });

  it('leaves a connection under the limit, or one whose backlog shrank, alone', () => {
    const small = stalled('s', ['x'.repeat(10)]);
    const draining = stalled('d', ['x'.repeat(800), 'x'.repeat(800)]);
    const guard = new SlowConsumers(serverOf([small.socket, draining.socket]), 1000);
    expect(guard.sweep()).toBe(0);
    (draining.socket.conn as unknown as { writeBuffer: unknown[] }).writeBuffer.shift();
    (draining.socket.conn as unknown as { writeBuffer: { data: string }[] }).writeBuffer.push({
      data: 'x'.repeat(300),
    });
    expect(guard.sweep()).toBe(0); // 1,100 bytes, down from 1,600: still reading
    expect([small.terminate, draining.terminate].map((t) => t.mock.calls.length)).toEqual([0, 0]);
  });
});

describe('outputBacklogBytes', () => {
  it('counts held packets in UTF-8 bytes, measuring each packet once however many sweeps see it', () => {
    const { socket } = stalled('m', ['é'.repeat(1000), 'abc']);
    const byteLength = jest.spyOn(Buffer, 'byteLength');
    try {
      expect(outputBacklogBytes(socket)).toBe(2003);
      expect(outputBacklogBytes(socket)).toBe(2003);
      expect(byteLength).toHaveBeenCalledTimes(2);
      (socket.conn as unknown as { writeBuffer: { data: string }[] }).writeBuffer.push({ data: '€' });
      expect(outputBacklogBytes(socket)).toBe(2006);
      expect(byteLength).toHaveBeenCalledTimes(3);
    } finally {
      byteLength.mockRestore();
    }
  });
});
