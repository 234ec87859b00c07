import { io } from 'socket.io-client';
import { RedisKeys } from '../src/common/constants';
import { RedisService } from '../src/redis/redis.service';
import { resetState, sql, startApp, TestApp, eventually } from './utils/app';
import { closeAllSockets, collect, connect, emitAck, sleep, waitFor } from './utils/sockets';
import { parseMetrics, valueOf } from './utils/metrics';
import { auth, createRoom, createUser, TestUser } from './utils/users';

const send = (chatroomId: number, content: string, extra: Record<string, unknown> = {}) => ({
  chatroomId,
  message: { type: 'text', content },
  ...extra,
});

describe('ChatGateway (e2e)', () => {
  let t: TestApp;
  let alice: TestUser, bob: TestUser, eve: TestUser;
  let room: number;

  beforeAll(async () => {
    await resetState();
    t = await startApp();
    [alice, bob, eve] = await Promise.all(['alice', 'bob', 'eve'].map((n) => createUser(t, n)));
    room = await createRoom(t, alice, [bob]);
  });
  afterEach(() => closeAllSockets());
  afterAll(() => t.close());

  describe('handshake', () => {
    it('should require authentication', async () => {
      await expect(connect(t.url)).rejects.toThrow('unauthorized');
    });

    it('refuses a bad or forged token', async () => {
      await expect(connect(t.url, 'not-a-jwt')).rejects.toThrow('unauthorized');
      const forged = alice.token.slice(0, -4) + 'AAAA';
      await expect(connect(t.url, forged)).rejects.toThrow('unauthorized');
    });

    it('refuses auth that is not an object with connect_error "unauthorized", not a dropped connection', async () => {
      for (const auth of [[alice.token], alice.token, 42, null]) {
        const s = io(t.url, { transports: ['websocket'], auth: auth as never, forceNew: true, reconnection: false });
        // socket.io's own parser closed such a connection ("transport close") without a reason.
        const outcome = await new Promise<string>((resolve) => {
          s.once('connect', () => resolve('connected'));
          s.once('connect_error', (e) => resolve(`connect_error: ${e.message}`));
          s.once('disconnect', (reason) => resolve(`disconnect: ${reason}`));
        });
        s.close();
        expect([auth, outcome]).toEqual([auth, 'connect_error: unauthorized']);
      }
      // A valid handshake afterwards still works.
      expect((await connect(t.url, alice.token)).connected).toBe(true);
    });

    it('accepts the token as ?token= or an Authorization header too', async () => {
      const q = await connect(t.url, undefined, { query: { token: alice.token } });
      expect(q.connected).toBe(true);
      const h = await connect(t.url, undefined, { extraHeaders: { Authorization: `Bearer ${alice.token}` } });
      expect(h.connected).toBe(true);
    });
  });

  describe('authorisation', () => {
    it("refuses a non-member's joinRoom and sendMessage with NOT_FOUND", async () => {
      const s = await connect(t.url, eve.token);
      expect(await emitAck(s, 'joinRoom', { chatroomId: room })).toMatchObject({
        ok: false,
        error: { code: 'NOT_FOUND' },
      });
      expect(await emitAck(s, 'sendMessage', send(room, 'hi'))).toMatchObject({
        ok: false,
        error: { code: 'NOT_FOUND' },
      });
      const [{ n }] = await sql<{ n: number }>('SELECT count(*)::int AS n FROM messages WHERE sender_id = $1', [
        eve.id,
      ]);
      expect(n).toBe(0);
    });

    it('refuses a forged sendUserId / userId with FORBIDDEN', async () => {
      const s = await connect(t.url, bob.token);
      const forged = await emitAck(s, 'sendMessage', send(room, 'as alice', { sendUserId: alice.id }));
      expect(forged).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
      const join = await emitAck(s, 'joinRoom', { chatroomId: room, userId: alice.id });
      expect(join).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
      const own = await emitAck(s, 'sendMessage', send(room, 'as me', { sendUserId: bob.id }));
      expect(own).toMatchObject({ ok: true, data: { senderId: bob.id } });
      // null is no claim (optional fields may be null): not someone else's id (a reviewer).
      const none = await emitAck(s, 'sendMessage', send(room, 'nobody claimed', { sendUserId: null }));
      expect(none).toMatchObject({ ok: true, data: { senderId: bob.id } });
      const joinNull = await emitAck(s, 'joinRoom', { chatroomId: room, userId: null });
      expect(joinNull).toMatchObject({ ok: true, data: { chatroomId: room } });
    });

    it('answers a failed event without a callback with an exception event', async () => {
      const s = await connect(t.url, eve.token);
      const exception = waitFor(s, 'exception');
      s.emit('joinRoom', { chatroomId: room });
      expect(await exception).toEqual({ event: 'joinRoom', code: 'NOT_FOUND', message: expect.any(String) });
    });
  });

  describe('messages', () => {
    it('delivers to both members in seq order, with id and seq in the ack', async () => {
      const a = await connect(t.url, alice.token);
      const b = await connect(t.url, bob.token);
      expect(await emitAck(a, 'joinRoom', { chatroomId: room })).toMatchObject({
        ok: true,
        data: { chatroomId: room },
      });
      await emitAck(b, 'joinRoom', { chatroomId: room });
      const atBob = collect(b, 'message');
      const atAlice = collect(a, 'message');
      const acks = await Promise.all([
        ...Array.from({ length: 15 }, (_, i) => emitAck(a, 'sendMessage', send(room, `a${i}`))),
        ...Array.from({ length: 15 }, (_, i) => emitAck(b, 'sendMessage', send(room, `b${i}`))),
      ]);
      expect(acks.every((x) => x.ok)).toBe(true);
      const seqs = acks.map((x) => x.data.seq).sort((x, y) => x - y);
      expect(new Set(seqs).size).toBe(30);
      expect(seqs[29] - seqs[0]).toBe(29); // contiguous: no hole, no reuse
      acks.forEach((x) =>
        expect(x.data.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/),
      );
      await eventually(() => atBob.filter((e) => e.type === 'sendMessage').length === 30, 5000, 'bob to get 30');
      await eventually(() => atAlice.filter((e) => e.type === 'sendMessage').length === 30, 5000, 'alice to get 30');
      for (const got of [atBob, atAlice]) {
        const inOrder = got.filter((e) => e.type === 'sendMessage').map((e) => e.message.seq);
        expect(inOrder).toEqual(seqs);
      }
      const bySeq = new Map(acks.map((x) => [x.data.seq, x.data.id]));
      atBob.filter((e) => e.type === 'sendMessage').forEach((e) => expect(e.message.id).toBe(bySeq.get(e.message.seq)));
    });

    it('a resend with the same clientMsgId gives one row, one broadcast and the first ack', async () => {
      const a = await connect(t.url, alice.token);
      const b = await connect(t.url, bob.token);
      await emitAck(b, 'joinRoom', { chatroomId: room });
      const atBob = collect(b, 'message');
      const first = await emitAck(a, 'sendMessage', send(room, 'once', { clientMsgId: 'dup-1' }));
      const again = await emitAck(a, 'sendMessage', send(room, 'once', { clientMsgId: 'dup-1' }));
      const third = await emitAck(a, 'sendMessage', send(room, 'once', { clientMsgId: 'dup-1' }));
      expect(first.ok).toBe(true);
      expect(again).toEqual(first);
      expect(third).toEqual(first);
      await eventually(
        async () => {
          const rows = await sql('SELECT id FROM messages WHERE client_msg_id = $1', ['dup-1']);
          return rows.length === 1 && rows[0].id === first.data.id;
        },
        10_000,
        'the one row',
      );
      // In a cluster the broadcast can reach bob after the acks: wait for it, then for any second one.
      await eventually(() => atBob.some((e) => e.message?.clientMsgId === 'dup-1'), 5000, 'bob to get the message');
      await sleep(300);
      expect(atBob.filter((e) => e.message?.clientMsgId === 'dup-1')).toHaveLength(1);
      const [{ n }] = await sql<{ n: number }>("SELECT count(*)::int AS n FROM messages WHERE client_msg_id = 'dup-1'");
      expect(n).toBe(1);
    });

    it('keeps only the seq and id of the first message as the dedupe record, not a second copy of the message', async () => {
      const a = await connect(t.url, alice.token);
      const first = await emitAck(a, 'sendMessage', send(room, 'x'.repeat(2000), { clientMsgId: 'dup-small' }));
      // The app's own client: a single Redis or, in the e2e-cluster project, the cluster.
      const redis = t.app.get(RedisService).client;
      // The record lives DEDUPE_WINDOW_S (a day): a copy of every message for a day would be
      // most of Redis.
      const key = RedisKeys.clientMsg(room, alice.id, 'dup-small');
      expect(await redis.get(key)).toBe(`${first.data.seq}:${first.data.id}`);
      expect(await redis.ttl(key)).toBeGreaterThan(86_400 - 60);
      expect(await redis.ttl(key)).toBeLessThanOrEqual(86_400);
      expect(await emitAck(a, 'sendMessage', send(room, 'x'.repeat(2000), { clientMsgId: 'dup-small' }))).toEqual(
        first,
      );
    });

    it('a resend after an edit gets the first message (id and seq) as it is now, and nothing is broadcast', async () => {
      const a = await connect(t.url, alice.token);
      const b = await connect(t.url, bob.token);
      await emitAck(b, 'joinRoom', { chatroomId: room });
      // Under the cluster project the first broadcast can reach bob after alice's ack: wait for it,
      // so that only a broadcast of the resend can land in atBob.
      const delivered = waitFor(b, 'message', (e) => e.message?.clientMsgId === 'dup-edited');
      const first = await emitAck(a, 'sendMessage', send(room, 'typo', { clientMsgId: 'dup-edited' }));
      await delivered;
      const edit = await t.http().patch(`/messages/${first.data.id}`).set(auth(alice)).send({ content: 'fixed' });
      expect(edit.status).toBe(200);
      const atBob = collect(b, 'message');
      const again = await emitAck(a, 'sendMessage', send(room, 'typo', { clientMsgId: 'dup-edited' }));
      expect(again).toMatchObject({ ok: true, data: { id: first.data.id, seq: first.data.seq, content: 'fixed' } });
      expect(again.data.editedAt).toEqual(expect.any(String));
      await sleep(300);
      expect(atBob.filter((e) => e.type === 'sendMessage')).toEqual([]);
    });

    it('a dedupe record written by an earlier version (the whole first message) still answers the resend', async () => {
      const a = await connect(t.url, alice.token);
      const b = await connect(t.url, bob.token);
      await emitAck(b, 'joinRoom', { chatroomId: room });
      const delivered = waitFor(b, 'message', (e) => e.message?.clientMsgId === 'dup-legacy');
      const first = await emitAck(a, 'sendMessage', send(room, 'from before', { clientMsgId: 'dup-legacy' }));
      await delivered;
      const redis = t.app.get(RedisService).client;
      const key = RedisKeys.clientMsg(room, alice.id, 'dup-legacy');
      const { seq, ...draft } = first.data;
      await redis.set(key, JSON.stringify({ seq, ...draft, senderId: alice.id }), 'KEEPTTL');
      expect(await redis.ttl(key)).toBeGreaterThan(0);
      const atBob = collect(b, 'message');
      expect(await emitAck(a, 'sendMessage', send(room, 'from before', { clientMsgId: 'dup-legacy' }))).toEqual(first);
      await sleep(300);
      expect(atBob.filter((e) => e.type === 'sendMessage')).toEqual([]);
    });

    it('sync after a disconnect returns exactly the missed messages', async () => {
      const b1 = await connect(t.url, bob.token);
      const joined = await emitAck(b1, 'joinRoom', { chatroomId: room });
      const seenUpTo: number = joined.data.lastSeq;
      b1.disconnect();
      const a = await connect(t.url, alice.token);
      const missed = [];
      for (let i = 0; i < 7; i++) missed.push((await emitAck(a, 'sendMessage', send(room, `missed ${i}`))).data);
      const b2 = await connect(t.url, bob.token);
      const res = await emitAck(b2, 'sync', { rooms: [{ chatroomId: room, afterSeq: seenUpTo }] });
      expect(res.ok).toBe(true);
      const [r] = res.data.rooms;
      expect(r.messages.map((m: any) => m.id)).toEqual(missed.map((m) => m.id));
      expect(r.messages.map((m: any) => m.seq)).toEqual(missed.map((m) => m.seq));
      expect(r).toMatchObject({ chatroomId: room, hasMore: false, lastSeq: missed[6].seq });
    });

    it('sync refuses rooms the caller is not in', async () => {
      const s = await connect(t.url, eve.token);
      const res = await emitAck(s, 'sync', { rooms: [{ chatroomId: room, afterSeq: 0 }] });
      expect(res).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
    });

    it("sync's refusal names every room that is not the caller's, so a client can drop them", async () => {
      const own = await createRoom(t, eve, [bob]);
      const s = await connect(t.url, eve.token);
      const res = await emitAck(s, 'sync', {
        rooms: [
          { chatroomId: own, afterSeq: 0 },
          { chatroomId: room, afterSeq: 0 },
          { chatroomId: 2_000_000_000, afterSeq: 0 },
        ],
      });
      expect(res).toMatchObject({
        ok: false,
        error: {
          code: 'NOT_FOUND',
          details: [
            { field: 'rooms[1].chatroomId', errors: [expect.any(String)] },
            { field: 'rooms[2].chatroomId', errors: [expect.any(String)] },
          ],
        },
      });
      const rest = await emitAck(s, 'sync', { rooms: [{ chatroomId: own, afterSeq: 0 }] });
      expect(rest).toMatchObject({ ok: true, data: { rooms: [{ chatroomId: own, messages: [] }] } });
    });

    it('typing reaches the other members, not the typist', async () => {
      const a = await connect(t.url, alice.token);
      const b = await connect(t.url, bob.token);
      await emitAck(a, 'joinRoom', { chatroomId: room });
      await emitAck(b, 'joinRoom', { chatroomId: room });
      const atAlice = collect(a, 'typing');
      const seen = waitFor(b, 'typing');
      expect((await emitAck(a, 'typing', { chatroomId: room, typing: true })).ok).toBe(true);
      expect(await seen).toEqual({ chatroomId: room, userId: alice.id, typing: true });
      await sleep(100);
      expect(atAlice).toHaveLength(0);
    });

    it('refuses content over MESSAGE_MAX_LENGTH with VALIDATION_FAILED naming the field', async () => {
      const a = await connect(t.url, alice.token);
      const res = await emitAck(a, 'sendMessage', send(room, 'x'.repeat(4001)));
      expect(res).toMatchObject({
        ok: false,
        error: { code: 'VALIDATION_FAILED', details: [{ field: 'message.content' }] },
      });
      // Characters are code points: 4,000 emoji (8,000 UTF-16 units) fit, one more does not.
      const emoji = '\u{1F600}';
      expect((await emitAck(a, 'sendMessage', send(room, emoji.repeat(4000)))).ok).toBe(true);
      expect(await emitAck(a, 'sendMessage', send(room, emoji.repeat(4001)))).toMatchObject({
        ok: false,
        error: { code: 'VALIDATION_FAILED', details: [{ field: 'message.content' }] },
      });
    });

    it('refuses an event sent with two payload arguments, saying so', async () => {
      const a = await connect(t.url, alice.token);
      const res = await a.timeout(5000).emitWithAck('sendMessage', send(room, 'one'), send(room, 'two'));
      expect(res).toEqual({
        ok: false,
        error: {
          code: 'VALIDATION_FAILED',
          message: 'This event takes one payload argument (and an acknowledgement), not 2',
          details: [{ field: '', errors: ['must be a single JSON object argument'] }],
        },
      });
      // One argument is still one payload, an array included: that is a payload that is not an object.
      expect(await emitAck(a, 'sendMessage', [send(room, 'one')])).toMatchObject({
        ok: false,
        error: { code: 'VALIDATION_FAILED', message: 'The payload must be a JSON object' },
      });
    });

    it('refuses blank text with VALIDATION_FAILED naming the field; real text keeps its spaces', async () => {
      const a = await connect(t.url, alice.token);
      const first = await emitAck(a, 'sendMessage', send(room, 'before the blanks'));
      expect(first.ok).toBe(true);
      const blanks = [
        ' ',
        '\t\n \r',
        '\u00a0',
        '\u3000',
        '\u2028',
        '\u200b',
        '\u200c\u200d',
        '\ufeff',
        ' \u200b\u3000 ',
      ];
      for (const content of blanks) {
        const res = await emitAck(a, 'sendMessage', send(room, content));
        expect([content, res]).toEqual([
          content,
          {
            ok: false,
            error: {
              code: 'VALIDATION_FAILED',
              message: 'Invalid fields: message.content',
              details: [{ field: 'message.content', errors: ['content must not be blank (only whitespace)'] }],
            },
          },
        ]);
      }
      // Nothing was taken for them: the next message gets the next seq, its content as sent.
      const kept = await emitAck(a, 'sendMessage', send(room, '  \u3000kept\n '));
      expect(kept).toMatchObject({ ok: true, data: { seq: first.data.seq + 1, content: '  \u3000kept\n ' } });
    });

    it('takes image and file messages only as http(s) links', async () => {
      const a = await connect(t.url, alice.token);
      for (const content of ['javascript:alert(1)', 'data:text/html,<b>x</b>', '/relative.png', 'https://x/a b.png']) {
        for (const type of ['image', 'file']) {
          const res = await emitAck(a, 'sendMessage', { chatroomId: room, message: { type, content } });
          expect([type, content, res]).toEqual([
            type,
            content,
            {
              ok: false,
              error: {
                code: 'VALIDATION_FAILED',
                message: 'Invalid fields: message.content',
                details: [
                  { field: 'message.content', errors: ['content must be an http(s) URL for image and file messages'] },
                ],
              },
            },
          ]);
        }
      }
      const ok = await emitAck(a, 'sendMessage', {
        chatroomId: room,
        message: { type: 'image', content: 'https://example.com/a.png' },
      });
      expect(ok).toMatchObject({ ok: true, data: { type: 'image', content: 'https://example.com/a.png' } });
      // Text is free-form: a link-looking text is just text.
      expect((await emitAck(a, 'sendMessage', send(room, 'javascript:alert(1)'))).ok).toBe(true);
    });

    it('closes a connection that sends a frame over WS_MAX_PAYLOAD_BYTES, and keeps serving', async () => {
      const a = await connect(t.url, alice.token);
      const closed = new Promise((r) => a.once('disconnect', r));
      a.emit('sendMessage', send(room, 'y'.repeat(70_000)));
      await closed;
      const again = await connect(t.url, alice.token);
      expect((await emitAck(again, 'sendMessage', send(room, 'still here'))).ok).toBe(true);
    });
  });
});

describe('ChatGateway, a client that stops reading (e2e)', () => {
  let t: TestApp;
  afterAll(async () => {
    closeAllSockets();
    await t.close();
  });

  it('is disconnected once its unread output passes WS_MAX_UNREAD_BYTES; the sender and a reconnect are fine', async () => {
    await resetState();
    t = await startApp({ WS_MAX_UNREAD_BYTES: String(64 * 1024), SEND_RATE_PER_SEC: '100000', SEND_BURST: '100000' });
    const [sender, reader] = await Promise.all([createUser(t, 'writer'), createUser(t, 'stalled')]);
    const room = await createRoom(t, sender, [reader]);
    const s = await connect(t.url, sender.token);
    const r = await connect(t.url, reader.token);
    const gone = new Promise<string>((resolve) => r.once('disconnect', resolve));
    expect((await emitAck(r, 'joinRoom', { chatroomId: room })).ok).toBe(true);
    // The reader's process stops reading its connection: the kernel's buffers fill, then the server's.
    const tcp = (r.io.engine.transport as unknown as { ws: { _socket: { pause(): void; resume(): void } } }).ws._socket;
    tcp.pause();
    const metric = async (name: string) => valueOf(parseMetrics((await t.http().get('/metrics')).text), name);
    const connected = () => metric('chat_sockets_connected');
    expect(await connected()).toBe(2);
    expect(await metric('chat_slow_consumer_disconnects_total')).toBe(0);
    const big = '中'.repeat(4000); // 12 KB a broadcast: loopback's kernel buffers hold a few MB
    let sent = 0;
    while ((await connected()) === 2 && sent < 3000) {
      const acks = await Promise.all(Array.from({ length: 100 }, () => emitAck(s, 'sendMessage', send(room, big))));
      expect(acks.every((a) => a.ok)).toBe(true);
      sent += acks.length;
      await sleep(100); // let a sweep run between batches
    }
    await eventually(async () => ((await connected()) === 1 ? true : null), 5000, 'the reader disconnected');
    expect(await metric('chat_slow_consumer_disconnects_total')).toBe(1); // operators see it
    // Read again, it finds its connection cut, not a goodbye: socket.io clients reconnect by
    // themselves after 'transport close' (not after 'io server disconnect').
    tcp.resume();
    expect(await gone).toBe('transport close');
    expect(s.connected).toBe(true);
    expect((await emitAck(s, 'sendMessage', send(room, 'after'))).ok).toBe(true);
    // Nothing was lost for the reader: a new connection syncs what it missed.
    const again = await connect(t.url, reader.token);
    const synced = await emitAck(again, 'sync', { rooms: [{ chatroomId: room, afterSeq: sent }] });
    expect(synced).toMatchObject({ ok: true });
    expect(JSON.stringify(synced.data)).toContain('"after"');
  });
});

describe('ChatGateway rate limit (e2e)', () => {
  let t: TestApp;
  afterAll(() => t.close());

  it('answers sends beyond the burst with RATE_LIMITED and retryAfterMs', async () => {
    await resetState();
    t = await startApp({ SEND_RATE_PER_SEC: '2', SEND_BURST: '3' });
    const u = await createUser(t, 'fast');
    const room = await createRoom(t, u);
    const s = await connect(t.url, u.token);
    // All at once: sent one after another, a slow first send (a fresh app's lookups) could
    // leave time for a token to refill (one per 500 ms) before the fourth.
    const acks = await Promise.all(Array.from({ length: 5 }, (_, i) => emitAck(s, 'sendMessage', send(room, `m${i}`))));
    expect(acks.filter((a) => a.ok)).toHaveLength(3);
    const refused = acks.filter((a) => !a.ok);
    expect(refused).toHaveLength(2);
    expect(refused[0]).toMatchObject({
      ok: false,
      error: { code: 'RATE_LIMITED', details: { retryAfterMs: expect.any(Number) } },
    });
    await sleep(Math.max(...refused.map((a) => a.error!.details.retryAfterMs)) + 20);
    expect((await emitAck(s, 'sendMessage', send(room, 'later'))).ok).toBe(true);
    closeAllSockets();
  });

  // One client looping on cheap-looking events (typing fans out to the whole room, sync reads
  // history) must not slow everyone else: each socket has a budget for them.
  it('answers a socket that floods other events with RATE_LIMITED; its typing reaches others at most at its budget', async () => {
    await t.close();
    await resetState();
    t = await startApp({ SOCKET_EVENT_RATE_PER_SEC: '5', SOCKET_EVENT_BURST: '20' });
    const [mallory, bob] = [await createUser(t, 'mallory'), await createUser(t, 'bobby')];
    const room = await createRoom(t, mallory, [bob]);
    const flood = await connect(t.url, mallory.token);
    const other = await connect(t.url, mallory.token);
    const b = await connect(t.url, bob.token);
    expect((await emitAck(b, 'joinRoom', { chatroomId: room })).ok).toBe(true);
    const typingAtBob = collect(b, 'typing');

    const typing = await Promise.all(
      Array.from({ length: 100 }, () => emitAck(flood, 'typing', { chatroomId: room, typing: true })),
    );
    const typed = typing.filter((a) => a.ok).length;
    expect(typed).toBeGreaterThanOrEqual(10); // the typing burst
    expect(typed).toBeLessThan(15); // plus what refilled at 2 per second meanwhile
    expect(typing.find((a) => !a.ok)).toMatchObject({
      ok: false,
      error: { code: 'RATE_LIMITED', details: { retryAfterMs: expect.any(Number) } },
    });
    // In a cluster the typing ack can come back before the event reaches bob through Redis.
    await eventually(() => typingAtBob.length >= typed, 5000, 'bob to get every accepted typing event');
    await sleep(200);
    expect(typingAtBob.length).toBe(typed);

    const syncs = await Promise.all(
      Array.from({ length: 40 }, () => emitAck(flood, 'sync', { rooms: [{ chatroomId: room, afterSeq: 0 }] })),
    );
    expect(syncs.filter((a) => a.ok).length).toBeGreaterThanOrEqual(20);
    expect(syncs.filter((a) => a.ok).length).toBeLessThan(25);
    expect(syncs.filter((a) => !a.ok).every((a) => a.error?.code === 'RATE_LIMITED')).toBe(true);

    // The budget is the socket's: another socket of the same user, and other users, go on.
    expect((await emitAck(other, 'sync', { rooms: [{ chatroomId: room, afterSeq: 0 }] })).ok).toBe(true);
    expect((await emitAck(b, 'typing', { chatroomId: room, typing: true })).ok).toBe(true);
    // Sends: the other socket's at once; the flooding one's once its budget has a token again.
    expect((await emitAck(other, 'sendMessage', send(room, 'other socket'))).ok).toBe(true);
    const refused = await emitAck(flood, 'sendMessage', send(room, 'too soon'));
    expect(refused.error).toMatchObject({ code: 'RATE_LIMITED', details: { retryAfterMs: expect.any(Number) } });
    await sleep(refused.error!.details.retryAfterMs);
    expect((await emitAck(flood, 'sendMessage', send(room, 'still here'))).ok).toBe(true);
    closeAllSockets();
  });
});
