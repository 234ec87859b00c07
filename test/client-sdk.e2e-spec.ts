/**
 * The client package (@chat-backend/client, from source) against the real server: REST,
 * send/receive with per-message state, and the delivery guarantees a chat client has to
 * keep across dropped connections: resend with the same clientMsgId (stored and shown once),
 * gap → sync, reconnect → rejoin + sync, each message exactly once and in seq order.
 */
import { ChatClient, ChatError, type Message, type OutgoingMessage } from '@chat-backend/client';
import { sdkSession } from './utils/sdk';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from 'socket.io';
import { eventually, resetState, sql, startApp, TestApp } from './utils/app';
import { sleep } from './utils/sockets';
import { createRoom, createUser, TestUser } from './utils/users';

describe('client package (e2e)', () => {
  let t: TestApp;
  let alice: TestUser, bob: TestUser, eve: TestUser;
  const clients: ChatClient[] = [];

  beforeAll(async () => {
    await resetState();
    t = await startApp();
    [alice, bob, eve] = await Promise.all(['alice', 'bob', 'eve'].map((n) => createUser(t, n)));
  });
  afterEach(() => {
    for (const c of clients.splice(0)) c.disconnect();
  });
  afterAll(() => t.close());

  /** A connected client that reconnects quickly (to `app`, the suite's server by default). */
  function session(u: TestUser, app: TestApp = t): Promise<ChatClient> {
    return sdkSession(app.url, u.token, clients);
  }

  /** Every message the client delivers, in delivery order. */
  function inbox(c: ChatClient): Message[] {
    const got: Message[] = [];
    c.on('message', (m) => got.push(m));
    return got;
  }

  /** Every state a send goes through, by clientMsgId. */
  function states(c: ChatClient): Map<string, string[]> {
    const seen = new Map<string, string[]>();
    c.on('messageState', (o: OutgoingMessage) =>
      seen.set(o.clientMsgId, [...(seen.get(o.clientMsgId) ?? []), o.state]),
    );
    return seen;
  }

  const seqs = (ms: Message[], room: number) => ms.filter((m) => m.chatroomId === room).map((m) => m.seq);
  const contiguous = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i);

  /** Drops the transport the way a flaky network does (socket.io reconnects by itself). */
  const dropTransport = (c: ChatClient) => c.socket!.io.engine.close();

  describe('REST', () => {
    it('logs in, keeps the token, and reports errors as ChatError with code and status', async () => {
      const c = new ChatClient({ url: t.url });
      await expect(c.api.me()).rejects.toMatchObject({ name: 'ChatError', code: 'UNAUTHORIZED', status: 401 });
      const login = await c.api.login({ username: alice.username, password: 'correct horse battery' });
      expect(login.user.id).toBe(alice.id);
      expect((await c.api.me()).username).toBe(alice.username);
      const room = await c.api.createRoom({ name: 'sdk-rest', memberIds: [bob.id] });
      expect(room).toMatchObject({ name: 'sdk-rest', type: 'group', memberCount: 2 });
      const detail = await c.api.room(room.id);
      expect(detail.members.map((m) => m.user.id).sort()).toEqual([alice.id, bob.id].sort());
      const err = await c.api.room(999_999).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ChatError);
      expect(err).toMatchObject({ code: 'NOT_FOUND', status: 404 });
      const bad = await c.api.createRoom({ name: '' }).catch((e: ChatError) => e);
      expect(bad).toMatchObject({ code: 'VALIDATION_FAILED', status: 400 });
      const page = await c.api.history(room.id, { limit: 10 });
      expect(page).toEqual({ items: [], hasMore: false });
    });

    it('refuses the socket handshake with UNAUTHORIZED for a bad token', async () => {
      const c = new ChatClient({ url: t.url, token: 'not-a-jwt' });
      clients.push(c);
      await expect(c.connect()).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
    });
  });

  describe('send and receive', () => {
    it('delivers every message once, in seq order = send order, to the other member and to the sender; states pending → acked', async () => {
      const room = await createRoom(t, alice, [bob]);
      const [a, b] = await Promise.all([session(alice), session(bob)]);
      const aGot = inbox(a);
      const bGot = inbox(b);
      const aStates = states(a);
      await a.joinRoom(room);
      const joined = await b.joinRoom(room);
      expect(joined).toEqual({ chatroomId: room, lastSeq: 0, readSeq: 0 });

      const sent = ['one', 'two', 'three'].map((text) => a.send(room, text));
      expect(sent.every((o) => o.state === 'pending')).toBe(true);
      const acked = await Promise.all(sent.map((o) => o.acked));
      expect(acked.map((m) => m.seq)).toEqual([1, 2, 3]);
      expect(sent.map((o) => o.state)).toEqual(['acked', 'acked', 'acked']);
      expect(sent[0].message).toMatchObject({
        content: 'one',
        seq: 1,
        senderId: alice.id,
        clientMsgId: sent[0].clientMsgId,
      });
      for (const o of sent) expect(aStates.get(o.clientMsgId)).toEqual(['pending', 'acked']);

      await eventually(() => bGot.length === 3 && aGot.length === 3, 5000, 'deliveries');
      await sleep(100);
      expect(bGot.map((m) => m.content)).toEqual(['one', 'two', 'three']);
      expect(seqs(aGot, room)).toEqual([1, 2, 3]); // the sender's own copies: once each (ack or broadcast)
      expect(a.unacked).toEqual([]);
    });

    it('an error ack fails the message with the code: pending → failed, and the promise rejects with ChatError', async () => {
      const room = await createRoom(t, alice, [bob]);
      const a = await session(alice);
      const aStates = states(a);
      const tooLong = a.send(room, 'x'.repeat(5000));
      const err = await tooLong.acked.catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ChatError);
      expect(err).toMatchObject({ code: 'VALIDATION_FAILED' });
      expect(tooLong.state).toBe('failed');
      expect(tooLong.error?.code).toBe('VALIDATION_FAILED');
      expect(aStates.get(tooLong.clientMsgId)).toEqual(['pending', 'failed']);

      const notMine = await createRoom(t, eve);
      const foreign = a.send(notMine, 'hi');
      await expect(foreign.acked).rejects.toMatchObject({ code: 'NOT_FOUND' });
      expect(a.unacked.map((o) => o.state)).toEqual(['failed', 'failed']);
      await expect(a.joinRoom(notMine)).rejects.toMatchObject({ code: 'NOT_FOUND' });
      expect(a.joinedRooms).toEqual([]);
    });
  });

  describe('across dropped connections', () => {
    it('resends after the transport drops mid-send: stored, broadcast and acked once, under its clientMsgId', async () => {
      const room = await createRoom(t, alice, [bob]);
      const [a, b] = await Promise.all([session(alice), session(bob)]);
      const bGot = inbox(b);
      const aGot = inbox(a);
      await a.joinRoom(room);
      await b.joinRoom(room);
      const aStates = states(a);

      const out = a.send(room, 'through the storm');
      dropTransport(a); // right behind the send frame: the server may act on it, the ack is lost
      const message = await out.acked;
      expect(out.attempts).toBeGreaterThanOrEqual(2);
      expect(aStates.get(out.clientMsgId)).toEqual(['pending', 'acked']);

      await eventually(() => bGot.length === 1 && aGot.length === 1, 5000, 'delivery');
      await sleep(200);
      expect(bGot.map((m) => m.id)).toEqual([message.id]);
      expect(aGot.map((m) => m.id)).toEqual([message.id]);
      const stored = await eventually(async () => {
        const rows = await sql('SELECT id FROM messages WHERE chatroom_id = $1', [room]);
        return rows.length ? rows : undefined;
      });
      expect(stored!.map((r) => r.id)).toEqual([message.id]);
    });

    it('a lost ack after the server stored the message: the resend gets the first ack (same id and seq), nothing twice', async () => {
      const room = await createRoom(t, alice, [bob]);
      const [a, b] = await Promise.all([session(alice), session(bob)]);
      const bGot = inbox(b);
      await a.joinRoom(room);
      await b.joinRoom(room);

      // The ack arrives, but the connection drops before the client could read it: socket.io
      // then tells the waiting callback "disconnected", exactly as if the ack had been lost.
      const raw = a.socket as unknown as { acks: Record<string, (err?: Error) => void> };
      const out = a.send(room, 'acked twice');
      const [ackId] = Object.keys(raw.acks).slice(-1);
      const waiting = raw.acks[ackId];
      raw.acks[ackId] = Object.assign(
        () => {
          dropTransport(a);
          waiting(new Error('socket has been disconnected'));
        },
        { withError: true },
      );

      const message = await out.acked;
      expect(out.attempts).toBe(2);
      expect(message.seq).toBe(1);
      // In a cluster the first broadcast can reach b after the ack: wait for it, then for any other.
      await eventually(() => bGot.length >= 1, 5000, 'b to get the message');
      await sleep(300);
      expect(bGot.map((m) => m.id)).toEqual([message.id]); // the resend broadcast nothing
      const page = await b.api.history(room);
      expect(page.items.map((m) => m.id)).toEqual([message.id]);
    });

    it('fills a gap in the broadcast with sync, delivering in seq order', async () => {
      const room = await createRoom(t, alice, [bob]);
      const [a, b] = await Promise.all([session(alice), session(bob)]);
      const bGot = inbox(b);
      await Promise.all([a.joinRoom(room), b.joinRoom(room)]);
      // Alice's socket's own broadcasts (the SDK also delivers her sends from their acks).
      const broadcastToA: number[] = [];
      a.socket!.on('message', (e: { message?: { seq: number } }) => e.message && broadcastToA.push(e.message.seq));
      const syncs: unknown[] = [];
      b.socket!.onAnyOutgoing((event: string, payload: unknown) => event === 'sync' && syncs.push(payload));

      // Bob's socket misses seq 1's broadcast (it left the room behind the client's back).
      await b.socket!.emitWithAck('leaveRoom', { chatroomId: room });
      await a.send(room, 'missed').acked;
      // Broadcast done: on a cluster it goes out after the adapter's publish, so after the ack.
      await eventually(() => broadcastToA.includes(1), 5000, 'the broadcast of seq 1');
      await b.socket!.emitWithAck('joinRoom', { chatroomId: room });
      await a.send(room, 'live').acked;

      await eventually(() => bGot.length === 2, 5000, 'gap filled');
      expect(bGot.map((m) => [m.seq, m.content])).toEqual([
        [1, 'missed'],
        [2, 'live'],
      ]);
      expect(syncs).toEqual([{ rooms: [{ chatroomId: room, afterSeq: 0 }], limit: 500 }]);
    });

    it('after a reconnect re-joins, syncs what was missed exactly once in order, and resends unacked sends', async () => {
      const room = await createRoom(t, alice, [bob]);
      const [a, b] = await Promise.all([session(alice), session(bob)]);
      const bGot = inbox(b);
      await a.joinRoom(room);
      await b.joinRoom(room);
      await a.send(room, 'before').acked;
      await eventually(() => bGot.length === 1, 5000, 'first delivery');

      // Bob goes offline and stays offline while Alice writes.
      b.socket!.io.reconnection(false);
      const gone = new Promise((r) => b.once('disconnect', r));
      dropTransport(b);
      await gone;
      for (let i = 1; i <= 5; i++) await a.send(room, `offline ${i}`).acked;
      const queued = b.send(room, 'written offline');
      expect(queued.state).toBe('pending');

      // Back online; Alice keeps writing while Bob's client re-joins and syncs.
      b.socket!.io.reconnection(true);
      const back = b.connect();
      const during = [1, 2, 3].map((i) => a.send(room, `during ${i}`));
      await back;
      await Promise.all(during.map((o) => o.acked));
      const own = await queued.acked;
      expect(queued.attempts).toBe(1);

      await eventually(() => bGot.length === 10, 8000, 'all ten messages');
      await a.send(room, 'after').acked; // live again: the room was re-joined
      await eventually(() => bGot.length === 11, 5000, 'live after rejoin');
      await sleep(200);
      expect(seqs(bGot, room)).toEqual(contiguous(1, 11));
      expect(new Set(bGot.map((m) => m.id)).size).toBe(11);
      expect(bGot.find((m) => m.seq === own.seq)?.clientMsgId).toBe(queued.clientMsgId);
      expect(bGot.at(-1)?.content).toBe('after');
    });
  });

  describe('typed events', () => {
    it('edits and retractions of delivered messages arrive as messageUpdated; a late joiner syncs the tombstone', async () => {
      const room = await createRoom(t, alice, [bob]);
      const [a, b] = await Promise.all([session(alice), session(bob)]);
      await a.joinRoom(room);
      await b.joinRoom(room);
      const bGot = inbox(b);
      const updates: string[] = [];
      b.on('messageUpdated', (u) => updates.push(`${u.type}:${u.message.seq}:${u.message.content}`));
      const m = await a.send(room, 'first draft').acked;
      await eventually(() => bGot.length === 1, 5000, 'delivery');
      await a.api.edit(m.id, 'final');
      await eventually(() => updates.length === 1, 5000, 'edit');
      await a.api.retract(m.id);
      await eventually(() => updates.length === 2, 5000, 'retraction');
      expect(updates).toEqual([`editMessage:${m.seq}:final`, `deleteMessage:${m.seq}:`]);

      // A client starting from seq 0 gets the tombstone in its place: no hole in the timeline.
      const late = await session(bob);
      const lateGot = inbox(late);
      await late.joinRoom(room, { afterSeq: 0 });
      await eventually(() => lateGot.length === 1, 5000, 'sync from 0');
      expect(lateGot[0]).toMatchObject({ seq: m.seq, deleted: true, content: '' });
    });

    it('typing, read and inbox reach the other member and the reader with their payloads', async () => {
      const room = await createRoom(t, alice, [bob]);
      const [a, b] = await Promise.all([session(alice), session(bob)]);
      await a.joinRoom(room);
      await b.joinRoom(room);
      const typing = new Promise((r) => b.once('typing', r));
      await a.setTyping(room, true);
      expect(await typing).toEqual({ chatroomId: room, userId: alice.id, typing: true });

      const m = await a.send(room, 'read me').acked;
      const read = new Promise((r) => a.once('read', r));
      // This room's badge: an earlier test's room may still get its (coalesced) inbox event.
      const badge = new Promise((r) => b.on('inbox', (e) => e.chatroomId === room && e.unreadCount === 0 && r(e)));
      const res = await b.markRead(room, m.seq);
      expect(res).toMatchObject({ chatroomId: room, readSeq: m.seq, unreadCount: 0 });
      expect(await read).toEqual({ chatroomId: room, userId: bob.id, seq: m.seq });
      expect(await badge).toMatchObject({ chatroomId: room, unreadCount: 0 });
    });
  });

  // The server budgets each socket's events; a user in more rooms than the burst still gets
  // every room back, because the client waits out RATE_LIMITED on its joins and rejoins.
  describe('under a small per-socket event budget', () => {
    let small: TestApp;
    beforeAll(async () => {
      small = await startApp({ SOCKET_EVENT_RATE_PER_SEC: '20', SOCKET_EVENT_BURST: '4' });
    });
    afterAll(() => small.close());

    it('joins and, after a reconnect, rejoins and syncs every room', async () => {
      const rooms = [];
      for (let i = 0; i < 10; i++) rooms.push(await createRoom(small, bob, [alice], `budget${i}`));
      const c = await session(bob, small);
      const errors: ChatError[] = [];
      c.on('error', (e) => errors.push(e));
      const joined = await Promise.all(rooms.map((r) => c.joinRoom(r)));
      expect(joined.map((j) => j.chatroomId)).toEqual(rooms);

      const got = inbox(c);
      dropTransport(c);
      await eventually(() => c.connected, 5_000, 'reconnected');
      // Sent while the rejoin may still be waiting out its budget: each message reaches the
      // client live or through the sync that follows a rejoin; a room left out (its join
      // refused) would get neither.
      const sender = await session(alice, small);
      for (const r of rooms) await sender.send(r, `after ${r}`).acked;
      await eventually(() => new Set(got.map((m) => m.chatroomId)).size === rooms.length, 10_000, 'every room');
      expect(errors.filter((e) => e.code === 'RATE_LIMITED')).toEqual([]);
    });
  });

  // A room taken away between the rejoin and the sync after a reconnect: a race the real
  // server cannot be made to lose on cue, so a scripted socket.io server answers here.
  describe('against a server that refuses one room of a sync', () => {
    it('drops the refused room, reports it, and syncs the others', async () => {
      const http = createServer();
      const server = new Server(http);
      await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
      const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
      const [roomA, roomB] = [101, 102];
      const lastSeq = { [roomA]: 0, [roomB]: 0 };
      const syncs: number[][] = [];
      const message = (seq: number) => ({
        id: `m-${seq}`,
        chatroomId: roomA,
        seq,
        senderId: 7,
        sender: { id: 7, username: 'sam', nickName: 'sam', headPic: '' },
        type: 'text',
        content: `a${seq}`,
        createdAt: new Date().toISOString(),
      });
      server.on('connection', (socket) => {
        socket.on('joinRoom', ({ chatroomId }, ack) =>
          ack({ ok: true, data: { chatroomId, lastSeq: lastSeq[chatroomId as 101 | 102], readSeq: 0 } }),
        );
        socket.on('sync', ({ rooms }: { rooms: { chatroomId: number }[] }, ack) => {
          syncs.push(rooms.map((r) => r.chatroomId));
          const i = rooms.findIndex((r) => r.chatroomId === roomB);
          if (i >= 0) {
            return ack({
              ok: false,
              error: {
                code: 'NOT_FOUND',
                message: 'A room of this sync not found',
                details: [{ field: `rooms[${i}].chatroomId`, errors: ['no such room among yours'] }],
              },
            });
          }
          ack({
            ok: true,
            data: { rooms: [{ chatroomId: roomA, messages: [message(1), message(2)], hasMore: false, lastSeq: 2 }] },
          });
        });
      });
      try {
        const c = await session(bob, { url } as TestApp);
        const errors: ChatError[] = [];
        c.on('error', (e) => errors.push(e));
        const got = inbox(c);
        await c.joinRoom(roomA);
        await c.joinRoom(roomB);
        // Both rooms moved on while the client was away; one of them is no longer its own.
        lastSeq[roomA] = 2;
        lastSeq[roomB] = 3;
        dropTransport(c);
        await eventually(() => got.length === 2, 5_000, "room A's messages");
        expect(got.map((m) => [m.chatroomId, m.seq])).toEqual([
          [roomA, 1],
          [roomA, 2],
        ]);
        expect(syncs).toEqual([[roomA, roomB], [roomA]]);
        expect(errors.map((e) => [e.code, e.details])).toEqual([['NOT_FOUND', { chatroomIds: [roomB] }]]);
        expect(c.joinedRooms.map((r) => r.chatroomId)).toEqual([roomA]);
      } finally {
        await new Promise<void>((resolve) => void server.close(() => resolve()));
      }
    });
  });
});
