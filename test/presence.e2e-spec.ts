import type { Socket } from 'socket.io-client';
import { resetState, startApp, TestApp } from './utils/app';
import { closeAllSockets, collect, connect, emitAck, waitFor } from './utils/sockets';
import { createRoom, createUser, TestUser } from './utils/users';

const GRACE_MS = 1500;

/**
 * Presence and the room's joinRoom/leaveRoom timeline are announced on real changes only:
 * a user's first socket, and the last one gone for PRESENCE_GRACE_MS. Every check ends
 * with a sentinel message from the observed user, so "nothing was announced" is read from
 * everything that arrived before it, not from a timer.
 */
describe('presence and room attendance (e2e)', () => {
  let t: TestApp;
  let alice: TestUser, bob: TestUser;
  let room: number;
  let observer: Socket;
  let events: { event: string; payload: any }[];

  beforeAll(async () => {
    await resetState();
    t = await startApp({ PRESENCE_GRACE_MS: String(GRACE_MS) });
    [alice, bob] = await Promise.all(['alice', 'bob'].map((n) => createUser(t, n)));
    room = await createRoom(t, alice, [bob]);
  });
  beforeEach(async () => {
    observer = await connect(t.url, bob.token);
    await emitAck(observer, 'joinRoom', { chatroomId: room });
    events = [];
    observer.on('message', (p: any) => events.push({ event: 'message', payload: p }));
    observer.on('presence', (p: any) => events.push({ event: 'presence', payload: p }));
  });
  afterEach(() => closeAllSockets());
  afterAll(() => t.close());

  /** Alice sends a marker; resolves with what bob saw about alice before it. */
  async function seenBeforeSentinel(): Promise<string[]> {
    const s = await connect(t.url, alice.token);
    const marker = `sentinel-${Math.random()}`;
    const arrived = waitFor(observer, 'message', (p: any) => p.message?.content === marker);
    const ack = await emitAck(s, 'sendMessage', { chatroomId: room, message: { type: 'text', content: marker } });
    expect(ack.ok).toBe(true);
    await arrived;
    s.disconnect();
    const upTo = events.findIndex((e) => e.payload.message?.content === marker);
    return events
      .slice(0, upTo)
      .filter((e) => e.payload.userId === alice.id)
      .map((e) => (e.event === 'presence' ? `presence:${e.payload.online}` : `${e.payload.type}`));
  }

  it("announces a user's first socket in a room once, not every socket", async () => {
    const joined = waitFor(observer, 'message', (p: any) => p.type === 'joinRoom' && p.userId === alice.id);
    // Presence comes from its own path (a lookup of alice's rooms, a coalescing window): wait
    // for it too, so that a late first announcement is not taken for a second one.
    const online = waitFor(observer, 'presence', (p: any) => p.online && (p.userIds ?? [p.userId]).includes(alice.id));
    const a1 = await connect(t.url, alice.token);
    await emitAck(a1, 'joinRoom', { chatroomId: room });
    await Promise.all([joined, online]);
    const a2 = await connect(t.url, alice.token);
    await emitAck(a2, 'joinRoom', { chatroomId: room });
    await emitAck(a2, 'joinRoom', { chatroomId: room }); // the same socket again
    const seen = await seenBeforeSentinel();
    expect(seen.filter((e) => e === 'joinRoom')).toHaveLength(1);
    expect(seen.filter((e) => e === 'presence:true')).toHaveLength(1);
  });

  it('counts a socket once when it sends two joins of a room at once: its disconnect is a departure', async () => {
    const a = await connect(t.url, alice.token);
    const acks = await Promise.all([1, 2].map(() => emitAck(a, 'joinRoom', { chatroomId: room })));
    expect(acks.map((x) => x.ok)).toEqual([true, true]);
    await new Promise((r) => setTimeout(r, GRACE_MS + 300)); // alice is settled in
    // Counted twice, the one disconnect would leave alice in the room for good.
    const leave = waitFor(observer, 'message', (p: any) => p.type === 'leaveRoom' && p.userId === alice.id, 10_000);
    a.disconnect();
    await leave;
  });

  it('counts nothing for a socket gone while its joins ran: the next join is announced', async () => {
    await new Promise((r) => setTimeout(r, GRACE_MS + 300)); // alice from earlier tests is gone
    const a = await connect(t.url, alice.token);
    // Joins in flight (each awaits the membership read) when the disconnect is handled: its
    // leaving took back nothing, so a join counted after it kept alice in the room for good.
    for (let i = 0; i < 30; i++) a.emit('joinRoom', { chatroomId: room });
    await new Promise((r) => setImmediate(r));
    a.disconnect();
    await new Promise((r) => setTimeout(r, GRACE_MS + 300));
    const back = waitFor(observer, 'message', (p: any) => p.type === 'joinRoom' && p.userId === alice.id, 10_000);
    const b = await connect(t.url, alice.token);
    await emitAck(b, 'joinRoom', { chatroomId: room });
    await back;
  });

  it('says nothing when every socket of a user reconnects within the grace period', async () => {
    const sockets = await Promise.all([1, 2, 3].map(() => connect(t.url, alice.token)));
    for (const s of sockets) await emitAck(s, 'joinRoom', { chatroomId: room });
    await new Promise((r) => setTimeout(r, GRACE_MS + 300)); // alice is settled in
    events.length = 0;
    for (const s of sockets) s.disconnect(); // a restart drops them all
    const back = await Promise.all([1, 2, 3].map(() => connect(t.url, alice.token)));
    for (const s of back) await emitAck(s, 'joinRoom', { chatroomId: room });
    await new Promise((r) => setTimeout(r, GRACE_MS + 300)); // past the grace of the old ones
    expect(await seenBeforeSentinel()).toEqual([]);
  });

  it('announces leaveRoom and offline once the last socket stays away for the grace period', async () => {
    const a = await connect(t.url, alice.token);
    await emitAck(a, 'joinRoom', { chatroomId: room });
    await new Promise((r) => setTimeout(r, GRACE_MS + 300));
    const leave = waitFor(observer, 'message', (p: any) => p.type === 'leaveRoom' && p.userId === alice.id, 10_000);
    const offline = waitFor(observer, 'presence', (p: any) => p.userId === alice.id && !p.online, 10_000);
    const detail = () =>
      t
        .http()
        .get(`/chatrooms/${room}`)
        .set({ Authorization: `Bearer ${bob.token}` });
    const gone = Date.now();
    a.disconnect();
    // Within the grace period alice still counts as online in the room's member list.
    const during = await detail();
    expect(during.body.members.find((m: any) => m.user.id === alice.id).online).toBe(true);
    await Promise.all([leave, offline]);
    expect(Date.now() - gone).toBeGreaterThanOrEqual(GRACE_MS);
    const after = await detail();
    expect(after.body.members.find((m: any) => m.user.id === alice.id).online).toBe(false);
  });

  it('an explicit leaveRoom is a departure too, and a later join is announced again', async () => {
    const a = await connect(t.url, alice.token);
    await emitAck(a, 'joinRoom', { chatroomId: room });
    const leave = waitFor(observer, 'message', (p: any) => p.type === 'leaveRoom' && p.userId === alice.id, 10_000);
    await emitAck(a, 'leaveRoom', { chatroomId: room });
    await leave;
    const again = waitFor(observer, 'message', (p: any) => p.type === 'joinRoom' && p.userId === alice.id);
    await emitAck(a, 'joinRoom', { chatroomId: room });
    await again;
    const got = collect(observer, 'message');
    await emitAck(a, 'leaveRoom', { chatroomId: room });
    await emitAck(a, 'joinRoom', { chatroomId: room }); // back within the grace: silent
    const seen = await seenBeforeSentinel();
    expect(got.filter((p: any) => p.userId === alice.id && p.type !== 'sendMessage')).toEqual([]);
    expect(seen.filter((e) => e === 'leaveRoom')).toHaveLength(1);
  });

  it('many arrivals at once are coalesced: fewer events, each arrival named once (userIds)', async () => {
    const crowd = await Promise.all([1, 2, 3, 4, 5, 6].map((i) => createUser(t, `crowd${i}`)));
    const busy = await createRoom(t, bob, crowd);
    await emitAck(observer, 'joinRoom', { chatroomId: busy });
    const got = collect(observer, 'message');
    const sockets = await Promise.all(crowd.map((u) => connect(t.url, u.token)));
    await Promise.all(sockets.map((s) => emitAck(s, 'joinRoom', { chatroomId: busy })));
    const ids = crowd.map((u) => u.id).sort((a, b) => a - b);
    // The crowd only: the observer's own arrival may reach it after its ack (through Redis on
    // a cluster), so inside the collection.
    const named = () =>
      got
        .filter((p: any) => p.type === 'joinRoom' && p.chatroomId === busy)
        .flatMap((p: any) => (p.userIds as number[] | undefined) ?? [p.userId])
        .filter((id) => ids.includes(id));
    // The window after the first announcement is at most a few seconds long.
    for (let i = 0; i < 100 && named().length < ids.length; i++) await new Promise((r) => setTimeout(r, 100));
    expect([...named()].sort((a, b) => a - b)).toEqual(ids);
    const events = got.filter(
      (p: any) =>
        p.type === 'joinRoom' &&
        p.chatroomId === busy &&
        ((p.userIds as number[] | undefined) ?? [p.userId]).some((id) => ids.includes(id)),
    );
    expect(events.length).toBeLessThan(ids.length);
    for (const e of events.filter((p: any) => p.userIds)) expect(e.userId).toBe(e.userIds[0]);
  });
});
