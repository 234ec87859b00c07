import type { Socket } from 'socket.io-client';
import { resetState, startApp, TestApp } from './utils/app';
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
    [a, b] = await Promise.all([
      startApp({ PRESENCE_GRACE_MS: String(GRACE_MS) }),
      startApp({ PRESENCE_GRACE_MS: String(GRACE_MS) }),
    ]);
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

  /** What bob was told about alice before her marker message arrived. */
  async function aboutAliceBefore(s: Socket): Promise<string[]> {
    const marker = `marker-${Math.random()}`;
    const arrived = waitFor(observer, 'message', (p: any) => p.message?.content === marker);
    expect((await emitAck(s, 'sendMessage', { chatroomId: room, message: { type: 'text', content: marker } })).ok).toBe(
      true,
    );
    await arrived;
    const upTo = seen.findIndex((e) => e.payload.message?.content === marker);
    const about = seen
      .slice(0, upTo)
      .filter((e) => e.payload.userId === alice.id)
      .map((e) => (e.event === 'presence' ? `presence:${e.payload.online}` : `${e.payload.type}`));
    seen = seen.slice(upTo + 1);
    return about;
  }

  it('a user whose instance shut down and who is back after the usual grace is not announced', async () => {
    const onA = await connect(a!.url, alice.token);
    await emitAck(onA, 'joinRoom', { chatroomId: room });
    expect(await aboutAliceBefore(onA)).toEqual(['presence:true', 'joinRoom']);

    await a!.close(); // drops alice's socket
    a = undefined;
    await new Promise((r) => setTimeout(r, GRACE_MS * 3));
    const onB = await connect(b.url, alice.token);
    await emitAck(onB, 'joinRoom', { chatroomId: room });
    expect(await aboutAliceBefore(onB)).toEqual([]);

    // Leaving on her own is a departure after the usual grace, and coming back is news again.
    onB.disconnect();
    await new Promise((r) => setTimeout(r, GRACE_MS * 3));
    const again = await connect(b.url, alice.token);
    await emitAck(again, 'joinRoom', { chatroomId: room });
    expect(await aboutAliceBefore(again)).toEqual(['leaveRoom', 'presence:false', 'presence:true', 'joinRoom']);
  });
});
