import { InboxNotifier } from '../src/inbox/inbox-notifier.service';
import type { ReadStateService } from '../src/inbox/read-state.service';
import { eventually, resetState, startApp, TestApp } from './utils/app';
import { closeAllSockets, collect, connect, emitAck, sleep } from './utils/sockets';
import { createRoom, createUser, TestUser } from './utils/users';

/**
 * `inbox` events go to members online outside a room. Their counts cost a query over all the
 * member's rooms, so a window's pass counts each member once, whatever the number of rooms
 * that had messages, and one pass runs at a time (a probe's sends into six rooms of 999
 * online members made overlapping passes that held the database pool for minutes).
 */
describe('inbox notifier (e2e)', () => {
  let t: TestApp;
  let sender: TestUser;
  let members: TestUser[];
  let rooms: number[];
  let counting: { calls: number; inFlight: number; maxInFlight: number };

  beforeAll(async () => {
    await resetState();
    t = await startApp({ SEND_BURST: '100' });
    sender = await createUser(t, 'sender');
    members = await Promise.all(['m1', 'm2', 'm3', 'm4', 'm5'].map((n) => createUser(t, n)));
    rooms = [];
    for (const name of ['r1', 'r2', 'r3', 'r4']) rooms.push(await createRoom(t, sender, members, name));
  });
  beforeEach(() => {
    // Counts every unread count the notifier asks for, and how many run at once.
    const readState = t.app.get<InboxNotifier, { readState: ReadStateService }>(InboxNotifier).readState;
    const real = readState.unreadOfUser.bind(readState);
    counting = { calls: 0, inFlight: 0, maxInFlight: 0 };
    jest.spyOn(readState, 'unreadOfUser').mockImplementation(async (userId) => {
      counting.calls++;
      counting.maxInFlight = Math.max(counting.maxInFlight, ++counting.inFlight);
      try {
        await sleep(slowMs);
        return await real(userId);
      } finally {
        counting.inFlight--;
      }
    });
  });
  afterEach(() => {
    jest.restoreAllMocks();
    closeAllSockets();
  });
  afterAll(() => t.close());
  let slowMs = 0;

  /** Every member online (not joined to any room), with the inbox events each gets. */
  async function online() {
    const events: Record<number, any[]>[] = [];
    for (const m of members) {
      const s = await connect(t.url, m.token);
      events.push({ [m.id]: collect(s, 'inbox') });
    }
    return members.map((m, i) => events[i][m.id]);
  }

  it("counts each member once per window, whatever the number of the window's rooms", async () => {
    slowMs = 0;
    const inbox = await online();
    const s = await connect(t.url, sender.token);
    await sleep(400); // no window left open from before: the four sends share the next one
    counting.calls = 0;
    const acks = await Promise.all(
      rooms.map((chatroomId) => emitAck(s, 'sendMessage', { chatroomId, message: { type: 'text', content: 'hi' } })),
    );
    expect(acks.every((a) => a.ok)).toBe(true);
    await eventually(() => inbox.every((events) => events.length === rooms.length));
    // One count per member online outside the rooms (the sender's socket is one too), not one
    // per member and room (24).
    expect(counting.calls).toBe(members.length + 1);
    for (const events of inbox) {
      expect(events.map((e) => e.chatroomId).sort()).toEqual([...rooms].sort());
      for (const e of events)
        expect(e).toEqual({ chatroomId: e.chatroomId, unreadCount: 1, totalUnread: 4, version: expect.any(Number) });
    }
  });

  it('runs one pass at a time: windows closing meanwhile go to the next pass', async () => {
    slowMs = 400; // each count takes 0.4 s: a pass of five members takes longer than windows
    const inbox = await online();
    const s = await connect(t.url, sender.token);
    for (const chatroomId of rooms) {
      const ack = await emitAck(s, 'sendMessage', { chatroomId, message: { type: 'text', content: 'again' } });
      expect(ack.ok).toBe(true);
      await sleep(350); // every message in a window of its own
    }
    await eventually(() => inbox.every((events) => events.length === rooms.length), 15_000);
    // Overlapping passes counted one member per room at a time, several rooms at once.
    expect(counting.maxInFlight).toBeLessThanOrEqual(3);
    // The first pass counts five members; the rest of the rooms wait for it and share passes.
    expect(counting.calls).toBeLessThan((members.length + 1) * rooms.length);
    for (const events of inbox) expect(events.map((e) => e.chatroomId).sort()).toEqual([...rooms].sort());
  });
});
