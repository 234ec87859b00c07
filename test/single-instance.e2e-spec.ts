import Redis from 'ioredis';
import { eventually, resetState } from './utils/app';
import { freePort, registerOn, ServerProcess, spawnServer, waitHealthy } from './utils/processes';
import { closeAllSockets, collect, connect, emitAck, sleep } from './utils/sockets';
import { adapterKey } from '../src/chat/instance-aware-redis-adapter';
import { TEST_REDIS_URL } from './setup/test-env';
import { useTestKeyNamespace } from './utils/identity';

/**
 * The adapter skips Redis while its instance is alone (src/chat/instance-aware-redis-adapter.ts).
 * Seen from outside: a subscriber on the adapter's broadcast channels receives nothing from a
 * lone instance, whose room still gets every message; once a second instance is up, the
 * first one's broadcasts reach sockets on the second. Pub/sub channels are shared by the
 * whole Redis server, so this needs no other socket.io server on it (CI has none).
 */
describe('one instance, then two (e2e)', () => {
  let a: ServerProcess, b: ServerProcess | undefined;
  const spy = new Redis(TEST_REDIS_URL);
  const published: string[] = [];

  beforeAll(async () => {
    await resetState();
    await useTestKeyNamespace();
    await spy.psubscribe(`${adapterKey(spy.options.db ?? 0)}#/#*`);
    spy.on('pmessageBuffer', (_pattern: Buffer, channel: Buffer) => published.push(channel.toString()));
    a = spawnServer({ PORT: freePort() });
    await waitHealthy(a);
  });
  afterAll(async () => {
    closeAllSockets();
    await Promise.all([a?.stop(), b?.stop()]);
    spy.disconnect();
  });

  it('keeps broadcasts off Redis while alone, and reaches a second instance from its start', async () => {
    const alice = await registerOn(a.url, 'alice_single');
    const bob = await registerOn(a.url, 'bob_single');
    const room = (await alice.post('/chatrooms', { name: 's', memberIds: [bob.id] }, alice.token)).id as number;
    const sa = await connect(a.url, alice.token);
    const sbOnA = await connect(a.url, bob.token);
    await emitAck(sa, 'joinRoom', { chatroomId: room });
    await emitAck(sbOnA, 'joinRoom', { chatroomId: room });
    const send = async (content: string) =>
      (await emitAck(sa, 'sendMessage', { chatroomId: room, message: { type: 'text', content } })).data;

    // Until its first count of instances the adapter publishes, as the stock one always does.
    await eventually(
      async () => {
        const before = published.length;
        await send('probe');
        await sleep(100);
        return published.length === before;
      },
      10_000,
      'the lone instance to stop publishing',
    );
    const atBobOnA = collect(sbOnA, 'message');
    // Messages only: a coalesced joinRoom announcement may land in between (room-announcer.ts).
    const sentToBob = () => atBobOnA.filter((e) => e.type === 'sendMessage');
    const before = published.length;
    const alone = [];
    for (let i = 0; i < 5; i++) alone.push(await send(`alone ${i}`));
    await eventually(() => sentToBob().length === 5, 5000, 'bob (same instance) to get all five');
    expect(sentToBob().map((e) => e.message.id)).toEqual(alone.map((m) => m.id));
    await sleep(200);
    expect(published.length).toBe(before);

    // A second instance says hello before it listens: its sockets get the very first broadcast.
    b = spawnServer({ PORT: freePort(), WORKER_ENABLED: 'false' });
    await waitHealthy(b);
    const sbOnB = await connect(b.url, bob.token);
    await emitAck(sbOnB, 'joinRoom', { chatroomId: room });
    const atBobOnB = collect(sbOnB, 'message');
    const first = await send('to both instances');
    await eventually(() => atBobOnB.some((e) => e.message?.id === first.id), 5000, 'bob on the second instance');
    // The spy is another subscriber of the same PUBLISH: its copy can arrive after bob's.
    await eventually(() => published.length > before, 5000, 'the broadcast on Redis');
  });
});
