import { resetState, startApp, TestApp } from './utils/app';
import { closeAllSockets, connect } from './utils/sockets';
import { createRoom, createUser, TestUser } from './utils/users';

/**
 * Sends that a client pipelines (emits without waiting for the previous ack) take seqs in
 * the order they were sent, also while the membership and sender lookups are not cached yet
 * (a fresh room: each send would otherwise race its own database read).
 */
describe('send order (e2e)', () => {
  let t: TestApp;
  let alice: TestUser, bob: TestUser;

  beforeAll(async () => {
    await resetState();
    t = await startApp({ SEND_BURST: '200', SEND_RATE_PER_SEC: '200' });
    [alice, bob] = await Promise.all(['alice', 'bob'].map((n) => createUser(t, n)));
  });
  afterAll(async () => {
    closeAllSockets();
    await t.close();
  });

  it('numbers pipelined sends in the order they were emitted', async () => {
    const s = await connect(t.url, alice.token);
    for (let round = 0; round < 3; round++) {
      const room = await createRoom(t, alice, [bob], `order-${round}`);
      const acks = await Promise.all(
        Array.from({ length: 30 }, (_, i) =>
          s.timeout(20_000).emitWithAck('sendMessage', {
            chatroomId: room,
            clientMsgId: `r${round}-m${i}`,
            message: { type: 'text', content: `m${i}` },
          }),
        ),
      );
      expect(acks.map((a: any) => a.ok && a.data.content)).toEqual(acks.map((_, i) => `m${i}`));
      expect(acks.map((a: any) => a.data.seq)).toEqual(acks.map((_, i) => i + 1));
    }
  });
});
