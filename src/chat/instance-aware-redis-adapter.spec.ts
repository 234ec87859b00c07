import { RedisAdapter } from '@socket.io/redis-adapter';
import { EventEmitter } from 'node:events';
import { Writable } from 'node:stream';
import type Redis from 'ioredis';
import type { Namespace } from 'socket.io';
import { PEER_HELLO, useKeyNamespace } from '../common/constants';
import { adapterKey, InstanceAwareRedisAdapter } from './instance-aware-redis-adapter';

const ns = 'socket.io-0a1b2c3d4e5f';
beforeAll(() => useKeyNamespace('0a1b2c3d4e5f'));

/** Counts of instances, answered when the test says so. */
function controlledCounts() {
  const pending: { resolve: (n: number) => void; reject: (e: Error) => void }[] = [];
  jest
    .spyOn(RedisAdapter.prototype, 'serverCount')
    .mockImplementation(() => new Promise<number>((resolve, reject) => pending.push({ resolve, reject })));
  return pending;
}

/** `subscribed`: when the subscriber's SUBSCRIBE commands are answered (at once unless given). */
function setup(subscribed: Promise<unknown> = Promise.resolve(), stream?: Writable) {
  const nsp = Object.assign(new EventEmitter(), {
    name: '/',
    sockets: new Map(),
    server: { encoder: { encode: () => [] } },
  });
  // With a stream, the publisher is a connected client whose commands write to it, as ioredis' do.
  const pub = {
    options: { db: 0 },
    status: stream ? 'ready' : 'connecting',
    stream,
    publish: jest.fn((channel: string) => stream?.write(channel)),
    on: jest.fn(),
    off: jest.fn(),
  };
  const sub = {
    status: 'ready',
    psubscribe: jest.fn(),
    subscribe: jest.fn(() => subscribed),
    punsubscribe: jest.fn(),
    unsubscribe: jest.fn(),
    on: jest.fn(),
    off: jest.fn(),
  };
  /** What the subscriber emits: `ready` after (re)subscribing, `close` when its connection drops. */
  const fire = (event: string) =>
    sub.on.mock.calls.filter(([name]: [string]) => name === event).forEach(([, f]: [string, () => void]) => f());
  const adapter = new InstanceAwareRedisAdapter(
    nsp as unknown as Namespace,
    pub as unknown as Redis,
    sub as unknown as Redis,
  );
  const published = () => pub.publish.mock.calls.map(([channel]: [string]) => channel);
  const broadcast = () =>
    adapter.broadcast({ type: 2, data: ['message', {}], nsp: '/' }, { rooms: new Set(['room:1']), except: new Set() });
  return { adapter, nsp, sub, published, broadcast, fire };
}

const flush = () => new Promise((r) => setImmediate(r));

/** Answers every count asked so far, oldest first. */
function answerCounts(counts: ReturnType<typeof controlledCounts>, n: number) {
  for (const c of counts.splice(0)) c.resolve(n);
}

describe('InstanceAwareRedisAdapter', () => {
  afterEach(() => jest.restoreAllMocks());

  it('says hello once its own subscriptions are in place, and publishes until it has counted the instances', async () => {
    controlledCounts();
    let subscribed!: () => void;
    const { published, broadcast, adapter, sub } = setup(new Promise<void>((r) => (subscribed = r)));
    await flush();
    // A peer that counted now would not see this instance yet: no hello before the SUBSCRIBE is answered.
    expect(published()).toEqual([]);
    subscribed();
    await flush();
    const hello = `${ns}-request#/#`;
    expect(sub.subscribe).toHaveBeenLastCalledWith(hello); // the channel peers count
    expect(published()).toEqual([hello]);
    broadcast();
    expect(published()).toEqual([hello, `${ns}#/#room:1#`]);
    void adapter.close();
  });

  it('says no hello when its subscription fails or it has closed meanwhile', async () => {
    controlledCounts();
    const failed = setup(Promise.reject(new Error('Connection is closed.')));
    await flush();
    expect(failed.published()).toEqual([]);
    let subscribed!: () => void;
    const closing = setup(new Promise<void>((r) => (subscribed = r)));
    void closing.adapter.close();
    subscribed();
    await flush();
    expect(closing.published()).toEqual([]);
    void failed.adapter.close();
  });

  it('says hello again when its subscriber has reconnected', async () => {
    controlledCounts();
    const { published, adapter, fire } = setup();
    await flush();
    expect(published()).toHaveLength(1);
    fire('ready');
    await flush();
    expect(published()).toEqual([`${ns}-request#/#`, `${ns}-request#/#`]);
    void adapter.close();
  });

  it('keeps broadcasts local while it is the only instance, and publishes again when there are two', async () => {
    const counts = controlledCounts();
    const { published, broadcast, adapter } = setup();
    await flush();
    answerCounts(counts, 1);
    await flush();
    expect(adapter.isAlone).toBe(true);
    broadcast();
    expect(published()).toHaveLength(1);

    (adapter as unknown as { count(): void }).count();
    counts.shift()!.resolve(2);
    await flush();
    broadcast();
    expect(published().filter((c) => c.startsWith(`${ns}#`))).toEqual([`${ns}#/#room:1#`]);
    void adapter.close();
  });

  it("publishes from another instance's hello on, even if a count taken before it says alone", async () => {
    const counts = controlledCounts();
    const { broadcast, published, nsp, adapter } = setup();
    await flush();
    answerCounts(counts, 1);
    await flush();
    expect(adapter.isAlone).toBe(true);

    (adapter as unknown as { count(): void }).count(); // sent before the new instance subscribed
    nsp.emit(PEER_HELLO);
    counts.shift()!.resolve(1); // ...and answered after its hello arrived: stale
    await flush();
    expect(adapter.isAlone).toBe(false);
    broadcast();
    expect(published().filter((c) => c.startsWith(`${ns}#`))).toHaveLength(1);
    void adapter.close();
  });

  it('counts itself alone only from a count sent after its own subscription was answered', async () => {
    const counts = controlledCounts();
    let subscribed!: () => void;
    const { adapter } = setup(new Promise<void>((r) => (subscribed = r)));
    // Two instances starting together: this count may have been taken before Redis had this
    // instance's SUBSCRIBE, so its 1 is the other instance.
    answerCounts(counts, 1);
    await flush();
    expect(adapter.isAlone).toBe(false);
    subscribed();
    await flush();
    answerCounts(counts, 1);
    await flush();
    expect(adapter.isAlone).toBe(true);
    void adapter.close();
  });

  it('publishes while its own subscription is down (a count of 1 is then a peer)', async () => {
    const counts = controlledCounts();
    const { adapter, fire } = setup();
    await flush();
    fire('close');
    answerCounts(counts, 1);
    await flush();
    expect(adapter.isAlone).toBe(false);
    void adapter.close();
  });

  it("publishes one turn's broadcasts in one socket write", async () => {
    const writes: string[][] = [];
    const stream = new Writable({
      write: (chunk: Buffer, _enc, done) => (writes.push([chunk.toString()]), done()),
      writev: (chunks, done) => (writes.push(chunks.map((c) => String(c.chunk))), done()),
    });
    controlledCounts();
    const { broadcast, adapter } = setup(Promise.resolve(), stream);
    await flush();
    await flush();
    writes.length = 0; // the hello
    broadcast();
    broadcast();
    expect(writes).toEqual([]);
    await flush();
    expect(writes).toEqual([[`${ns}#/#room:1#`, `${ns}#/#room:1#`]]);
    void adapter.close();
  });

  it('publishes when the count fails', async () => {
    const counts = controlledCounts();
    const { adapter } = setup();
    await flush();
    answerCounts(counts, 1);
    await flush();
    expect(adapter.isAlone).toBe(true);
    (adapter as unknown as { count(): void }).count();
    counts.shift()!.reject(new Error('Connection is closed.'));
    await flush();
    expect(adapter.isAlone).toBe(false);
    void adapter.close();
  });

  it('keeps the channels of deployments on different databases and Redis database numbers apart', () => {
    expect(adapterKey(0)).toBe('socket.io-0a1b2c3d4e5f');
    expect(adapterKey(13)).toBe('socket.io-0a1b2c3d4e5f-db13');
    useKeyNamespace('ffff00001111');
    expect(adapterKey(0)).toBe('socket.io-ffff00001111');
    useKeyNamespace('0a1b2c3d4e5f');
  });
});
