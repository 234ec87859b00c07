import type { Socket } from 'socket.io-client';
import { LIVE_SOCKET_SWEEP_MS } from '../src/auth/identity.service';
import { resetState, sql, startApp, TestApp } from './utils/app';
import { closeAllSockets, connect, emitAck, sleep } from './utils/sockets';
import { createRoom, createUser, TestUser } from './utils/users';

/**
 * A user disabled, deleted or with its token version bumped directly in the database (no
 * API call, so nothing is published) loses its sockets within a sweep: they were kept, and
 * their sends acked, and for a deleted user the acked messages were then dead-lettered.
 */
describe('sockets of users changed in SQL (e2e)', () => {
  let t: TestApp;

  beforeAll(async () => {
    await resetState();
    t = await startApp();
  });
  afterEach(() => closeAllSockets());
  afterAll(() => t.close());

  /** A joined socket of a fresh user in a room with `other`, plus `other`'s joined socket. */
  async function joinedPair(name: string): Promise<{ user: TestUser; s: Socket; other: Socket; room: number }> {
    const [user, peer] = [await createUser(t, name), await createUser(t, `${name}_peer`)];
    const room = await createRoom(t, user, [peer]);
    const s = await connect(t.url, user.token);
    const other = await connect(t.url, peer.token);
    for (const socket of [s, other]) expect((await emitAck(socket, 'joinRoom', { chatroomId: room })).ok).toBe(true);
    return { user, s, other, room };
  }

  /** Resolves with the disconnect reason, or fails once a sweep and a margin have passed. */
  const disconnected = (s: Socket) =>
    new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('still connected after a sweep')), LIVE_SOCKET_SWEEP_MS + 2_000);
      s.once('disconnect', (reason) => {
        clearTimeout(timer);
        resolve(reason);
      });
    });

  const changes: [string, (id: number) => Promise<unknown>][] = [
    ['disabled', (id) => sql('UPDATE users SET disabled_at = now() WHERE id = $1', [id])],
    ['deleted', (id) => sql('DELETE FROM users WHERE id = $1', [id])],
    [
      'given a new token version',
      (id) => sql('UPDATE users SET token_version = token_version + 1 WHERE id = $1', [id]),
    ],
  ];

  it.each(changes)(
    'disconnects the socket of a user %s in SQL; its token opens no other',
    async (_what, change) => {
      const { user, s, other, room } = await joinedPair('sweep');
      const closed = disconnected(s);
      await change(user.id);
      expect(await closed).toBe('io server disconnect');
      // Nothing can be sent through it any more, nor through a new connection with its token.
      await expect(
        emitAck(s, 'sendMessage', { chatroomId: room, message: { type: 'text', content: 'x' } }, 500),
      ).rejects.toThrow();
      await expect(connect(t.url, user.token)).rejects.toThrow('unauthorized');
      // The other member's socket is untouched, sweep after sweep.
      await sleep(LIVE_SOCKET_SWEEP_MS + 500);
      expect(other.connected).toBe(true);
      const ack = await emitAck(other, 'sendMessage', {
        chatroomId: room,
        message: { type: 'text', content: 'still here' },
      });
      expect(ack.ok).toBe(true);
      expect(await sql('SELECT message_id FROM dead_letters')).toEqual([]);
    },
    30_000,
  );
});
