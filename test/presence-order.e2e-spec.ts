import type { Socket } from 'socket.io-client';
import { PresenceService } from '../src/chat/presence.service';
import type { Announcement, RoomAnnouncer } from '../src/chat/room-announcer';
import { eventually, resetState, startApp, TestApp } from './utils/app';
import { closeAllSockets, connect, emitAck, sleep, waitFor } from './utils/sockets';
import { auth, createRoom, createUser, TestUser } from './utils/users';

const GRACE_MS = 300;

/**
 * A room's last word on a user is the current one, whatever instance held its news. Two
 * instances on one Redis and database: alice's last socket closes on A while A's announcer
 * window for the room is open (the room is busy there), so A holds her `offline` and
 * `leaveRoom`; she comes back on B, which says `online` and `joinRoom` at once. When A's
 * window ends, those held announcements no longer hold and must not go out after B's:
 * bob, watching, would be left with alice offline and out of the room while she is back.
 */
describe('presence news held in a window is rechecked before it goes out (e2e)', () => {
  let a: TestApp, b: TestApp;
  let alice: TestUser, bob: TestUser, carol: TestUser;
  let room: number;
  let observer: Socket;
  let seen: { at: number; event: string; payload: any }[];
  let keeper: NodeJS.Timeout | undefined;

  const users = (p: any): number[] => p.userIds ?? [p.userId];

  beforeAll(async () => {
    await resetState();
    // One after the other, so each knows the other (see presence-restart).
    a = await startApp({ PRESENCE_GRACE_MS: String(GRACE_MS) });
    b = await startApp({ PRESENCE_GRACE_MS: String(GRACE_MS) });
    [alice, bob, carol] = await Promise.all(['poalice', 'pobob', 'pocarol'].map((n) => createUser(b, n)));
    room = await createRoom(b, bob, [alice, carol]);
    observer = await connect(b.url, bob.token);
    await emitAck(observer, 'joinRoom', { chatroomId: room });
    const c = await connect(b.url, carol.token);
    await emitAck(c, 'joinRoom', { chatroomId: room });
    seen = [];
    observer.on('message', (p: any) => seen.push({ at: Date.now(), event: 'message', payload: p }));
    observer.on('presence', (p: any) => seen.push({ at: Date.now(), event: 'presence', payload: p }));
  });
  afterAll(async () => {
    if (keeper) clearInterval(keeper);
    closeAllSockets();
    await a.close();
    await b.close();
  });

  /** What bob was last told about alice: her presence, and her attendance of the room. */
  function lastAboutAlice(): { presence?: boolean; timeline?: string } {
    const about = seen.filter((e) => users(e.payload).includes(alice.id));
    const presence = about.filter((e) => e.event === 'presence').at(-1)?.payload.online;
    const timeline = about.filter((e) => ['joinRoom', 'leaveRoom'].includes(e.payload.type)).at(-1)?.payload.type;
    return { presence, timeline };
  }

  it("ends on alice online and in the room when A's held offline and leaveRoom are stale", async () => {
    // Alice is around, on A.
    const onA = await connect(a.url, alice.token);
    await emitAck(onA, 'joinRoom', { chatroomId: room });
    await eventually(
      () => JSON.stringify(lastAboutAlice()) === JSON.stringify({ presence: true, timeline: 'joinRoom' }),
      5_000,
      'alice announced',
    );
    await sleep(500); // A's windows of that announcement closed: the room is quiet on A

    // The room is busy on A: announcements of bob and carol (both there, so true news) several
    // per window, which lengthens A's windows up to their maximum (RoomAnnouncer).
    const presence: unknown = a.app.get(PresenceService);
    const { announcer } = presence as { announcer: RoomAnnouncer }; // private: reached into on purpose
    const queued: string[] = [];
    const announce = announcer.announce.bind(announcer);
    announcer.announce = (chatroomId: number, x: Announcement) => {
      announce(chatroomId, x);
      if (x.userId === alice.id && chatroomId === room) queued.push(x.kind);
    };
    const busy = () => {
      for (const userId of [bob.id, carol.id]) {
        announcer.announce(room, { stream: 'presence', kind: 'online', userId });
        announcer.announce(room, { stream: 'timeline', kind: 'joinRoom', userId });
      }
    };
    busy();
    keeper = setInterval(busy, 100);
    /** A's flushes of its presence window, as bob sees them. */
    const flushes = () =>
      seen.filter((e) => e.event === 'presence' && users(e.payload).includes(carol.id)).map((e) => e.at);
    // Aligned on a flush that ended a long window: the next one is as long or longer.
    await eventually(
      () => {
        const at = flushes();
        return at.length >= 2 && at[at.length - 1] - at[at.length - 2] >= 1_900;
      },
      15_000,
      "A's window at 2 s or more",
    );
    const aligned = flushes().at(-1)!;

    // Alice leaves A: after the grace, A announces her offline and leaveRoom into its open windows.
    onA.disconnect();
    await eventually(() => queued.includes('offline') && queued.includes('leaveRoom'), 5_000, 'departure queued on A');

    // She is back on B, whose windows are closed: B says so at once.
    const back = Promise.all([
      waitFor(observer, 'presence', (p: any) => p.online && users(p).includes(alice.id)),
      waitFor(observer, 'message', (p: any) => p.type === 'joinRoom' && users(p).includes(alice.id)),
    ]);
    const onB = await connect(b.url, alice.token);
    await emitAck(onB, 'joinRoom', { chatroomId: room });
    await back;
    const backAt = Date.now();
    // The scenario holds only if A's window did not end meanwhile (it is seconds long).
    expect(flushes().filter((at) => at > aligned)).toEqual([]);

    // A's windows end (presence and timeline flush together: same announcements, same times).
    await eventually(() => flushes().some((at) => at > backAt), 10_000, "A's next flush");
    await sleep(500);
    clearInterval(keeper);
    keeper = undefined;

    expect(lastAboutAlice()).toEqual({ presence: true, timeline: 'joinRoom' });
    const detail = await b.http().get(`/chatrooms/${room}`).set(auth(bob));
    expect(detail.body.members.find((m: any) => m.user.id === alice.id).online).toBe(true);
  }, 40_000);
});
