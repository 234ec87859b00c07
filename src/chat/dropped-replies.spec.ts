import { type AddressInfo, createServer, type Socket } from 'node:net';
import Redis from 'ioredis';
import type { RedisClient } from '../redis/redis.service';
import { observeDroppedReplies } from './dropped-replies';

const closed = () => Promise.reject(new Error('Connection is closed.'));

function fakeClient() {
  const client = {
    publish: jest.fn(closed),
    subscribe: jest.fn((..._channels: unknown[]) => Promise.resolve(1)),
    status: 'end',
  };
  return client;
}

describe('observeDroppedReplies', () => {
  it('gives a dropped reply a handler that logs its failure, and leaves the promise to the caller', async () => {
    const warn = jest.fn();
    const client = observeDroppedReplies(fakeClient() as unknown as RedisClient, ['publish'], { warn });
    const reply = client.publish('room', 'message');
    // The caller (the adapter) never looks at `reply`; without a handler this rejection
    // would be unhandled and Jest would fail the test.
    await new Promise((resolve) => setImmediate(resolve));
    expect(warn).toHaveBeenCalledWith('socket.io adapter: publish failed (Connection is closed.)');
    await expect(reply).rejects.toThrow('Connection is closed.'); // a caller that awaits still sees it
  });

  it('passes arguments through and answers as the client does', async () => {
    const fake = fakeClient();
    const original = fake.subscribe;
    const client = observeDroppedReplies(fake as unknown as RedisClient, ['subscribe'], { warn: jest.fn() });
    await expect(client.subscribe('a', 'b')).resolves.toBe(1);
    expect(original).toHaveBeenCalledWith('a', 'b');
  });

  it('warns once for a burst of failures (a shutdown during an outage fails them all at once)', async () => {
    const warn = jest.fn();
    const client = observeDroppedReplies(fakeClient() as unknown as RedisClient, ['publish'], { warn });
    const replies = [client.publish('a', '1'), client.publish('b', '2'), client.publish('c', '3')];
    await Promise.allSettled(replies);
    await new Promise((resolve) => setImmediate(resolve));
    expect(warn).toHaveBeenCalledTimes(1);
  });

  it('skips methods the client does not have', () => {
    const fake = fakeClient();
    const client = observeDroppedReplies(fake as unknown as RedisClient, ['spublish'], { warn: jest.fn() });
    expect((client as unknown as Record<string, unknown>).spublish).toBeUndefined();
  });
});

describe('observeDroppedReplies with a real ioredis client', () => {
  it('handles what a disconnect fails in the offline queue (a shutdown while Redis does not answer)', async () => {
    // A server that reads and never answers: the client stays short of ready, so its
    // commands wait in the offline queue, and disconnect() fails them all once the socket
    // closes (the server reads the client's FIN and ends its side too).
    const sockets = new Set<Socket>();
    const silent = createServer((s) => {
      sockets.add(s);
      s.resume();
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as AddressInfo;
    const warn = jest.fn();
    const client = observeDroppedReplies(
      new Redis({ port, host: '127.0.0.1', enableOfflineQueue: true, maxRetriesPerRequest: null, lazyConnect: true }),
      ['subscribe', 'publish'],
      { warn },
    );
    client.on('error', () => undefined);
    await new Promise<void>((resolve) => {
      client.once('connect', resolve);
      void client.connect().catch(() => undefined);
    });
    void client.subscribe('room-a'); // dropped, as the adapter drops it
    void client.publish('room-a', 'hello');
    const closed = new Promise((resolve) => client.once('end', resolve));
    client.disconnect();
    await closed;
    await new Promise((resolve) => setImmediate(resolve));
    expect(warn).toHaveBeenCalledWith(
      expect.stringMatching(/^socket\.io adapter: (subscribe|publish) failed \(Connection is closed\.\)$/),
    );
    sockets.forEach((s) => s.destroy());
    await new Promise((resolve) => silent.close(resolve));
  });
});
