/**
 * A resend whose dedupe record is gone (sent after DEDUPE_WINDOW_S, or the key was evicted,
 * flushed or lost in a failover) is acked as a new message with a new id and seq. Acked
 * means durable: the worker must store it although its clientMsgId is a stored message's
 * (the unique index (chatroom_id, sender_id, client_msg_id)), not dead-letter it. The
 * record's expiry is played by deleting its key: the window is at least 60 s.
 */
import type { Socket } from 'socket.io-client';
import { PendingMessageStore } from '../src/chat-history/pending-message.store';
import { RedisKeys } from '../src/common/constants';
import { RedisService } from '../src/redis/redis.service';
import { eventually, resetState, sql, startApp, TestApp } from './utils/app';
import { closeAllSockets, connect, emitAck } from './utils/sockets';
import { auth, createRoom, createUser, TestUser } from './utils/users';

type Row = { id: string; seq: number; content: string; client_msg_id: string | null; deleted_at: Date | null };

describe('a resend after its dedupe record is gone (e2e)', () => {
  let t: TestApp;
  let alice: TestUser, bob: TestUser;

  beforeAll(async () => {
    await resetState();
    t = await startApp({ SEND_BURST: '200' });
    [alice, bob] = await Promise.all(['lalice', 'lbob'].map((n) => createUser(t, n)));
  });
  afterEach(() => closeAllSockets());
  afterAll(() => t.close());

  const sendAs = (s: Socket, chatroomId: number, clientMsgId: string, content: string) =>
    emitAck(s, 'sendMessage', { chatroomId, clientMsgId, message: { type: 'text', content } });

  /** What the dedupe record's expiry (or eviction) does. */
  const forget = (room: number, clientMsgId: string) =>
    t.app.get(RedisService).client.del(RedisKeys.clientMsg(room, alice.id, clientMsgId));

  /** Every queued message of the room stored and dropped from the buffer: readers see rows. */
  async function settled(room: number, count: number): Promise<Row[]> {
    const pending = t.app.get(PendingMessageStore);
    await eventually(async () => (await pending.range(room, 0, Infinity)).length === 0, 10_000, 'the buffer empty');
    const rows = await sql<Row>(
      'SELECT id::text AS id, seq, content, client_msg_id, deleted_at FROM messages WHERE chatroom_id = $1 ORDER BY seq',
      [room],
    );
    expect(rows).toHaveLength(count);
    return rows;
  }

  const deadLetters = async () => (await sql<{ n: number }>('SELECT count(*)::int AS n FROM dead_letters'))[0].n;

  it('is stored as the new message it was acked as (without the clientMsgId); within the window a resend still gets its ack', async () => {
    const room = await createRoom(t, alice, [bob], 'lapse');
    const a = await connect(t.url, alice.token);
    const first = await sendAs(a, room, 'dup1', 'first');
    expect(first.ok).toBe(true);
    // Within the window: the first ack again, nothing new.
    expect(await sendAs(a, room, 'dup1', 'first')).toEqual(first);
    await settled(room, 1);

    await forget(room, 'dup1');
    const second = await sendAs(a, room, 'dup1', 'second');
    expect(second).toMatchObject({
      ok: true,
      data: { seq: first.data.seq + 1, content: 'second', clientMsgId: 'dup1' },
    });
    expect(second.data.id).not.toBe(first.data.id);

    const rows = await settled(room, 2);
    expect(rows).toEqual([
      { id: first.data.id, seq: 1, content: 'first', client_msg_id: 'dup1', deleted_at: null },
      { id: second.data.id, seq: 2, content: 'second', client_msg_id: null, deleted_at: null },
    ]);
    expect(await deadLetters()).toBe(0);

    // Readers agree with the rows: history, sync and the message by id.
    const page = await t.http().get(`/chatrooms/${room}/messages?after=0`).set(auth(bob));
    expect(page.body.items.map((m: any) => [m.seq, m.content, m.deleted, m.clientMsgId])).toEqual([
      [1, 'first', undefined, 'dup1'],
      [2, 'second', undefined, undefined],
    ]);
    const b = await connect(t.url, bob.token);
    const sync = await emitAck(b, 'sync', { rooms: [{ chatroomId: room, afterSeq: 0 }] });
    expect(sync.data.rooms[0].messages.map((m: any) => [m.seq, m.content, m.clientMsgId])).toEqual([
      [1, 'first', 'dup1'],
      [2, 'second', undefined],
    ]);
    const byId = await t.http().get(`/inbox/messages/${second.data.id}`).set(auth(bob));
    expect(byId.status).toBe(200);
    expect(byId.body).toMatchObject({ id: second.data.id, seq: 2, content: 'second' });
    expect(byId.body.clientMsgId).toBeUndefined();

    // The record now names the second message: a resend within the window gets it, as stored.
    const again = await sendAs(a, room, 'dup1', 'second');
    expect(again).toMatchObject({ ok: true, data: { id: second.data.id, seq: 2, content: 'second' } });
    await settled(room, 2);
  });

  it('stores both when the record is lost while the first is still queued (one batch)', async () => {
    const room = await createRoom(t, alice, [bob], 'lapse-queued');
    const a = await connect(t.url, alice.token);
    const first = await sendAs(a, room, 'dup2', 'one');
    await forget(room, 'dup2');
    const second = await sendAs(a, room, 'dup2', 'two');
    expect([first.data.seq, second.data.seq]).toEqual([1, 2]);
    const rows = await settled(room, 2);
    expect(rows.map((r) => [r.id, r.content, r.client_msg_id, r.deleted_at])).toEqual([
      [first.data.id, 'one', 'dup2', null],
      [second.data.id, 'two', null, null],
    ]);
    expect(await deadLetters()).toBe(0);
  });
});
