import type { Socket } from 'socket.io-client';
import { resetState, startApp, TestApp } from './utils/app';
import { closeAllSockets, collect, connect, emitAck, sleep } from './utils/sockets';
import { createRoom, createUser, TestUser } from './utils/users';

/**
 * A socket's joinRoom and leaveRoom of one room take effect in the order it sent them. A
 * probe sent `leaveRoom` then `joinRoom` without waiting, on a socket not yet in the room: both
 * were acked, and in about half the trials the socket then got none of the room's messages.
 * The leave's membership check read PostgreSQL (not cached yet) while the join went ahead, so
 * the earlier leave took the socket out of the room after the join had put it in.
 */
describe('joinRoom and leaveRoom of one socket take effect in the order sent (e2e)', () => {
  const TRIALS = 8;
  let t: TestApp;
  let alice: TestUser, bob: TestUser;
  let sa: Socket, sb: Socket;

  beforeAll(async () => {
    await resetState();
    t = await startApp();
    [alice, bob] = await Promise.all(['roalice', 'robob'].map((n) => createUser(t, n)));
    [sa, sb] = await Promise.all([connect(t.url, alice.token), connect(t.url, bob.token)]);
  });
  afterAll(async () => {
    closeAllSockets();
    await t.close();
  });

  /** Alice sends three messages to the room; the seqs bob's socket got live of them. */
  async function liveToBob(room: number): Promise<{ sent: number[]; got: number[] }> {
    const events = collect<any>(sb, 'message');
    const sent: number[] = [];
    for (let i = 0; i < 3; i++) {
      const ack = await emitAck(sa, 'sendMessage', { chatroomId: room, message: { type: 'text', content: `m${i}` } });
      expect(ack.ok).toBe(true);
      sent.push(ack.data.seq);
    }
    await sleep(300);
    sb.off('message');
    const got = events.filter((e) => e.type === 'sendMessage' && e.chatroomId === room).map((e) => e.message.seq);
    return { sent, got };
  }

  it('leaveRoom then joinRoom, unawaited: the socket ends in the room and gets every message', async () => {
    for (let i = 0; i < TRIALS; i++) {
      // A fresh room each time: bob's membership is not cached yet, as in the probe.
      const room = await createRoom(t, alice, [bob]);
      expect((await emitAck(sa, 'joinRoom', { chatroomId: room })).ok).toBe(true);
      const [left, joined] = await Promise.all([
        emitAck(sb, 'leaveRoom', { chatroomId: room }),
        emitAck(sb, 'joinRoom', { chatroomId: room }),
      ]);
      expect(left.ok).toBe(true);
      expect(joined.ok).toBe(true);
      const { sent, got } = await liveToBob(room);
      expect({ trial: i, got }).toEqual({ trial: i, got: sent });
    }
  });

  it('joinRoom then leaveRoom, unawaited: the socket ends out of the room', async () => {
    for (let i = 0; i < TRIALS; i++) {
      const room = await createRoom(t, alice, [bob]);
      expect((await emitAck(sa, 'joinRoom', { chatroomId: room })).ok).toBe(true);
      const [joined, left] = await Promise.all([
        emitAck(sb, 'joinRoom', { chatroomId: room }),
        emitAck(sb, 'leaveRoom', { chatroomId: room }),
      ]);
      expect(joined.ok).toBe(true);
      expect(left.ok).toBe(true);
      const { got } = await liveToBob(room);
      expect({ trial: i, got }).toEqual({ trial: i, got: [] });
    }
  });
});
