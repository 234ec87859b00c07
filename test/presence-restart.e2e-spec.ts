import type { Socket } from 'socket.io-client';
import { eventually, resetState, startApp, TestApp } from './utils/app';
import { closeAllSockets, connect, emitAck, waitFor } from './utils/sockets';
import { createRoom, createUser, TestUser } from './utils/users';

const GRACE_MS = 400;

/**
 * Sockets that an instance drops as it shuts down get a longer grace (RESTART_GRACE_MS) than
 * sockets whose user left: coming back after the usual grace, to the restarted instance or
 * another one, is not news to the room. Two instances on one Redis and database.
 */
describe('presence across an instance restart (e2e)', () => {
  let a: TestApp | undefined, b: TestApp;
  let alice: TestUser, bob: TestUser;
  let room: number;
  let observer: Socket;
  let seen: { event: string; payload: any }[];

  beforeAll(async () => {
    await resetState();
    // One after the other: the second's hello then reaches the first, which publishes its
    // broadcasts from the start (started together, one may think itself alone for a poll).
    a = await startApp({ PRESENCE_GRACE_MS: String(GRACE_MS) });
    b = await startApp({ PRESENCE_GRACE_MS: String(GRACE_MS) });
    [alice, bob] = await Promise.all(['rsalice', 'rsbob'].map((n) => createUser(b, n)));
    room = await createRoom(b, bob, [alice]);
    observer = await connect(b.url, bob.token);
    await emitAck(observer, 'joinRoom', { chatroomId: room });
    seen = [];
    observer.on('message', (p: any) => seen.push({ event: 'message', payload: p }));
    observer.on('presence', (p: any) => seen.push({ event: 'presence', payload: p }));
  });
  afterAll(async () => {
    closeAllSockets();
    await a?.close();
    await b.close();
  });

  /**
   * What bob has been told about alice since the last call, sorted: `presence` and the room
   * timeline are announced on separate paths, in no set order between them.
   */
  function aboutAlice(): string[] {
    const about = seen
      .filter((e) => e.payload.userId === alice.id && e.payload.type !== 'sendMessage')
      .map((e) => (e.event === 'presence' ? `presence:${e.payload.online}` : `${e.payload.type}`));
    return about.sort();
  }
  const told = (expected: string[], what: string) =>
    eventually(() => JSON.stringify(aboutAlice()) === JSON.stringify(expected), 5_000, what);

  /** Alice's marker reached bob, and a moment more passed: whatever was announced is in. */
  async function settled(s: Socket): Promise<void> {
    const marker = `marker-${Math.random()}`;
    const arrived = waitFor(observer, 'message', (p: any) => p.message?.content === marker);
    expect((await emitAck(s, 'sendMessage', { chatroomId: room, message: { type: 'text', content: marker } })).ok).toBe(
      true,
    );
    await arrived;
    await new Promise((r) => setTimeout(r, 1_000));
  }

  it('a user whose instance shut down and who is back after the usual grace is not announced', async () => {
    const onA = await connect(a!.url, alice.token);
    await emitAck(onA, 'joinRoom', { chatroomId: room });
    await told(['joinRoom', 'presence:true'], 'the arrival');
    seen = [];

    await a!.close(); // drops alice's socket
    a = undefined;
    await new Promise((r) => setTimeout(r, GRACE_MS * 3));
    const onB = await connect(b.url, alice.token);
    await emitAck(onB, 'joinRoom', { chatroomId: room });
    await settled(onB);
    expect(aboutAlice()).toEqual([]);

    // Leaving on her own is a departure after the usual grace, and coming back is news again.
    onB.disconnect();
    await told(['leaveRoom', 'presence:false'], 'the departure');
    const again = await connect(b.url, alice.token);
    await emitAck(again, 'joinRoom', { chatroomId: room });
    await told(['joinRoom', 'leaveRoom', 'presence:false', 'presence:true'], 'the return');
  });
});
