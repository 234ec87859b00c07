import type { Socket } from 'socket.io-client';
import { resetState, startApp, TestApp } from './utils/app';
import { closeAllSockets, collect, connect, emitAck, sleep, waitFor } from './utils/sockets';
import { auth, createRoom, createUser, TestUser } from './utils/users';

/**
 * `read` fans out to the whole room, under the general event budget (50/s, bursts of 500)
 * rather than typing's 2/s: a hostile client repeating `markRead {seq: 0}` made every member
 * receive one `read` per call. Only a mark that moves the position (or, by ids, makes a
 * message read) may tell anyone; every other mark still answers with the counts.
 */
describe('mark-read that changes nothing broadcasts nothing (e2e)', () => {
  let t: TestApp;
  let alice: TestUser, bob: TestUser, carol: TestUser;
  let room: number;
  let ids: string[];
  let marker: Socket, watcher: Socket;
  /** What carol, joined to the room, and bob's second device receive. */
  let reads: any[], inboxes: any[];

  // A broadcast leaves in the same turn as the answer: half a second after the answer,
  // anything that was sent has arrived, so an empty list then means nothing was sent.
  const settle = () => sleep(500);
  const rest = (body: object) => t.http().post('/inbox/read').set(auth(bob)).send(body);

  beforeAll(async () => {
    await resetState();
    t = await startApp();
    [alice, bob, carol] = await Promise.all(['alice', 'bob', 'carol'].map((n) => createUser(t, n)));
    room = await createRoom(t, alice, [bob, carol], 'noop');
    const sender = await connect(t.url, alice.token);
    ids = [];
    for (let i = 0; i < 4; i++) {
      const ack = await emitAck(sender, 'sendMessage', {
        chatroomId: room,
        message: { type: 'text', content: `m${i}` },
      });
      ids.push(ack.data.id);
    }
    // New messages send `inbox` to members online outside the room after a 300 ms window:
    // let it close before bob connects, so his second device hears only his own reads.
    await sleep(600);
    watcher = await connect(t.url, carol.token);
    await emitAck(watcher, 'joinRoom', { chatroomId: room });
    reads = collect(watcher, 'read');
    const otherDevice = await connect(t.url, bob.token);
    inboxes = collect(otherDevice, 'inbox');
    marker = await connect(t.url, bob.token);
  });
  afterAll(async () => {
    closeAllSockets();
    await t.close();
  });

  it('a mark that moves the position broadcasts one `read` and one `inbox`', async () => {
    const ack = await emitAck(marker, 'markRead', { chatroomId: room, seq: 2 });
    expect(ack).toEqual({ ok: true, data: { chatroomId: room, readSeq: 2, unreadCount: 2, totalUnread: 2 } });
    await settle();
    expect(reads).toEqual([{ chatroomId: room, userId: bob.id, seq: 2 }]);
    expect(inboxes).toEqual([{ chatroomId: room, unreadCount: 2, totalUnread: 2, version: expect.any(Number) }]);
  });

  it('marks at or below the position answer with the counts and broadcast nothing', async () => {
    const counts = { chatroomId: room, readSeq: 2, unreadCount: 2, totalUnread: 2 };
    for (const seq of [0, 2, 1]) {
      expect(await emitAck(marker, 'markRead', { chatroomId: room, seq })).toEqual({ ok: true, data: counts });
      const res = await rest({ chatroomId: room, seq });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ totalUnread: 2, rooms: [{ chatroomId: room, unreadCount: 2, readSeq: 2 }] });
    }
    // The probe's shape: a burst of seq 0, well inside the general budget.
    const burst = await Promise.all(
      Array.from({ length: 30 }, () => emitAck(marker, 'markRead', { chatroomId: room, seq: 0 })),
    );
    expect(burst.every((a) => a.ok && a.data.readSeq === 2)).toBe(true);
    await settle();
    expect(reads).toHaveLength(1);
    expect(inboxes).toHaveLength(1);

    // A real move still goes out, and is the next event: none of the above was in the pipe.
    const next = waitFor(watcher, 'read');
    expect((await rest({ chatroomId: room, seq: 3 })).body.rooms).toEqual([
      { chatroomId: room, unreadCount: 1, readSeq: 3 },
    ]);
    await next;
    await settle();
    expect(reads).toEqual([
      { chatroomId: room, userId: bob.id, seq: 2 },
      { chatroomId: room, userId: bob.id, seq: 3 },
    ]);
    expect(inboxes).toEqual([
      { chatroomId: room, unreadCount: 2, totalUnread: 2, version: expect.any(Number) },
      { chatroomId: room, unreadCount: 1, totalUnread: 1, version: expect.any(Number) },
    ]);
    expect(inboxes[1].version).toBeGreaterThan(inboxes[0].version);
  });

  it('marking already-read messages by id broadcasts nothing', async () => {
    const answer = (unreadCount: number) => ({
      totalUnread: unreadCount,
      rooms: [{ chatroomId: room, unreadCount, readSeq: 3 }],
    });
    // At seq 3 whatever the test above left (so this one fails on its own without the fix).
    await rest({ chatroomId: room, seq: 3 });
    await settle();
    const [told, heard] = [inboxes.length, reads.length];
    // Covered by the position.
    expect((await rest({ messageIds: [ids[0]] })).body).toEqual(answer(1));
    await settle();
    expect(inboxes).toHaveLength(told);
    // Read out of order: the first time tells bob's other device, the repeat does not.
    expect((await rest({ messageIds: [ids[3]] })).body).toEqual(answer(0));
    await settle();
    expect(inboxes.slice(told)).toEqual([
      { chatroomId: room, unreadCount: 0, totalUnread: 0, version: expect.any(Number) },
    ]);
    expect((await rest({ messageIds: [ids[3], ids[1]] })).body).toEqual(answer(0));
    await settle();
    expect(inboxes).toHaveLength(told + 1);
    // The ids form never moves the position, so the room heard nothing of any of it.
    expect(reads).toHaveLength(heard);
  });

  // A probe moved its position one seq per mark, 228 marks a second in a 500-member room:
  // 68,000 deliveries a second, within the general event budget.
  it('a run of marks, one seq at a time, reaches the room as a few `read` events ending at the last', async () => {
    const sender = await connect(t.url, alice.token);
    const run = await createRoom(t, alice, [bob, carol], 'run');
    let last = 0;
    for (let i = 0; i < 30; i++) {
      last = (await emitAck(sender, 'sendMessage', { chatroomId: run, message: { type: 'text', content: `r${i}` } }))
        .data.seq;
    }
    expect((await emitAck(watcher, 'joinRoom', { chatroomId: run })).ok).toBe(true);
    await settle();
    const heard = collect(watcher, 'read');
    const startedAt = Date.now();
    for (let seq = 1; seq <= last; seq++) {
      const ack = await emitAck(marker, 'markRead', { chatroomId: run, seq });
      expect(ack.data.readSeq).toBe(seq); // every mark is answered at once
    }
    const took = Date.now() - startedAt;
    await settle();
    const seqs = heard.map((r: { chatroomId: number; userId: number; seq: number }) => {
      expect(r).toMatchObject({ chatroomId: run, userId: bob.id });
      return r.seq;
    });
    expect(seqs[0]).toBe(1); // the first at once
    expect(seqs.at(-1)).toBe(last); // the newest position last
    expect([...seqs].sort((a, b) => a - b)).toEqual(seqs);
    expect(seqs.length).toBeLessThanOrEqual(2 + Math.ceil(took / 250)); // one per 250 ms window
    expect(seqs.length).toBeLessThan(last);
  });
});
