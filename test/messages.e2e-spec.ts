import { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AppModule } from '../src/app.module';
import { ChatHistoryService } from '../src/chat-history/chat-history.service';
import { MessageWriteRepository } from '../src/chat-history/message-write.repository';
import { PendingMessageStore } from '../src/chat-history/pending-message.store';
import { seqRunsByRoom } from '../src/chat-history/persist-job';
import { loadConfig } from '../src/config/load-config';
import { testEnv } from './setup/test-env';
import { eventually, resetState, sql, startApp, TestApp } from './utils/app';
import { closeAllSockets, collect, connect, emitAck, sleep, waitFor } from './utils/sockets';
import { auth, createRoom, createUser, TestUser } from './utils/users';

/** The persistence worker alone, as `npm run start:worker` runs it (as in durability.e2e-spec). */
function startWorker(): Promise<INestApplicationContext> {
  const config = loadConfig(testEnv({ HTTP_ENABLED: 'false', WORKER_ENABLED: 'true' }));
  return NestFactory.createApplicationContext(AppModule.forRoot(config), { logger: ['error'] });
}

/** Sends through the socket, as clients do; resolves with the acked Message. */
async function send(t: TestApp, u: TestUser, chatroomId: number, content: string): Promise<any> {
  const s = await connect(t.url, u.token);
  try {
    const ack = await emitAck(s, 'sendMessage', { chatroomId, message: { type: 'text', content } });
    expect(ack.ok).toBe(true);
    return ack.data;
  } finally {
    s.disconnect();
  }
}

const isStored = async (id: string) => (await sql('SELECT 1 FROM messages WHERE id = $1', [id])).length === 1;
const stored = (id: string) => eventually(() => isStored(id), 10_000, `message ${id} stored`);

/** A member's socket in the room's broadcast. */
async function joined(t: TestApp, u: TestUser, chatroomId: number) {
  const s = await connect(t.url, u.token);
  expect((await emitAck(s, 'joinRoom', { chatroomId })).ok).toBe(true);
  return s;
}

async function historyItem(t: TestApp, u: TestUser, room: number, id: string) {
  const res = await t.http().get(`/chatrooms/${room}/messages?limit=200`).set(auth(u));
  expect(res.status).toBe(200);
  return res.body.items.find((m: { id: string }) => m.id === id);
}

const UNKNOWN = '01900000-0000-7000-8000-000000000000';

describe('messages (e2e)', () => {
  let t: TestApp;
  let alice: TestUser, bob: TestUser, carol: TestUser, eve: TestUser, admin: TestUser;
  let room: number, other: number;

  beforeAll(async () => {
    await resetState();
    t = await startApp({ SEND_BURST: '200' });
    [alice, bob, carol, eve, admin] = await Promise.all(
      ['alice', 'bob', 'carol', 'eve', 'admin'].map((n) => createUser(t, n)),
    );
    await sql("UPDATE users SET role = 'admin' WHERE id = $1", [admin.id]);
    room = await createRoom(t, alice, [bob, carol]);
    other = await createRoom(t, alice, [bob], 'other');
  });
  afterEach(() => closeAllSockets());
  afterAll(() => t.close());

  describe('GET /messages/sent', () => {
    it('should require authentication', async () => {
      expect((await t.http().get('/messages/sent')).status).toBe(401);
    });

    it('validates the query', async () => {
      const res = await t.http().get('/messages/sent?limit=0&cursor=nope&chatroomId=x&extra=1').set(auth(alice));
      expect(res.status).toBe(400);
      expect(res.body.code).toBe('VALIDATION_FAILED');
      const fields = res.body.details.map((d: { field: string }) => d.field).sort();
      expect(fields).toEqual(['chatroomId', 'cursor', 'extra', 'limit']);
      expect((await t.http().get('/messages/sent?limit=201').set(auth(alice))).status).toBe(400);
    });

    it('lists my messages newest first with readCount, by cursor, tombstones included', async () => {
      const m1 = await send(t, alice, room, 'sent one');
      const m2 = await send(t, alice, room, 'sent two');
      const m3 = await send(t, alice, room, 'sent three');
      const elsewhere = await send(t, alice, other, 'elsewhere');
      const bobs = await send(t, bob, room, 'not mine');
      await Promise.all([m1, m2, m3, elsewhere, bobs].map((m) => stored(m.id)));
      // bob read up to m2; carol read only m3, out of order (message_reads).
      await sql('UPDATE chatroom_members SET read_seq = $1 WHERE chatroom_id = $2 AND user_id = $3', [
        m2.seq,
        room,
        bob.id,
      ]);
      await sql('INSERT INTO message_reads (user_id, chatroom_id, seq) VALUES ($1, $2, $3)', [carol.id, room, m3.seq]);
      expect((await t.http().delete(`/messages/${m1.id}`).set(auth(alice))).status).toBe(204);

      const first = await t.http().get(`/messages/sent?chatroomId=${room}&limit=2`).set(auth(alice));
      expect(first.status).toBe(200);
      expect(first.body).toMatchObject({ hasMore: true, nextCursor: m2.id });
      expect(first.body.items.map((m: any) => [m.id, m.readCount])).toEqual([
        [m3.id, 1],
        [m2.id, 1],
      ]);
      expect(first.body.items[0]).toMatchObject({ content: 'sent three', sender: { id: alice.id }, seq: m3.seq });

      const next = await t.http().get(`/messages/sent?chatroomId=${room}&limit=2&cursor=${m2.id}`).set(auth(alice));
      expect(next.body).toEqual({
        items: [expect.objectContaining({ id: m1.id, deleted: true, content: '' })],
        hasMore: false,
      });
      expect(next.body.items[0].readCount).toBe(1);

      const all = await t.http().get('/messages/sent').set(auth(alice));
      const ids = all.body.items.map((m: any) => m.id);
      expect(ids.slice(0, 4)).toEqual([elsewhere.id, m3.id, m2.id, m1.id]);
      expect(ids).not.toContain(bobs.id);
    });
  });

  describe('GET /messages/:id/receipts', () => {
    let msg: any;
    beforeAll(async () => {
      msg = await send(t, alice, room, 'receipts please');
      await sql('UPDATE chatroom_members SET read_seq = $1 WHERE chatroom_id = $2 AND user_id = $3', [
        msg.seq,
        room,
        carol.id,
      ]);
    });

    it('should require authentication', async () => {
      expect((await t.http().get(`/messages/${msg.id}/receipts`)).status).toBe(401);
    });

    it('validates the id', async () => {
      const res = await t.http().get('/messages/12/receipts').set(auth(alice));
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ code: 'VALIDATION_FAILED', details: [{ field: 'id' }] });
    });

    it('lists who of the other members read it, to the sender (even while queued) and admins', async () => {
      const res = await t.http().get(`/messages/${msg.id}/receipts`).set(auth(alice));
      expect(res.status).toBe(200);
      const expected = [
        { userId: bob.id, read: false },
        { userId: carol.id, read: true },
      ].sort((a, b) => a.userId - b.userId);
      expect(res.body).toEqual(expected);
      const asAdmin = await t.http().get(`/messages/${msg.id}/receipts`).set(auth(admin));
      expect(asAdmin.body).toEqual(expected);
    });

    it('is 403 to another member, 404 to a non-member and for unknown ids', async () => {
      expect((await t.http().get(`/messages/${msg.id}/receipts`).set(auth(bob))).status).toBe(403);
      const outsider = await t.http().get(`/messages/${msg.id}/receipts`).set(auth(eve));
      expect(outsider.status).toBe(404);
      expect(outsider.body.code).toBe('NOT_FOUND');
      expect((await t.http().get(`/messages/${UNKNOWN}/receipts`).set(auth(alice))).status).toBe(404);
    });
  });

  describe('PATCH /messages/:id', () => {
    it('should require authentication', async () => {
      expect((await t.http().patch(`/messages/${UNKNOWN}`).send({ content: 'x' })).status).toBe(401);
    });

    it('validates the body', async () => {
      const msg = await send(t, alice, room, 'to validate');
      const bad = await t.http().patch(`/messages/${msg.id}`).set(auth(alice)).send({ content: '', extra: 1 });
      expect(bad.status).toBe(400);
      expect(bad.body.details.map((d: { field: string }) => d.field).sort()).toEqual(['content', 'extra']);
      const long = await t
        .http()
        .patch(`/messages/${msg.id}`)
        .set(auth(alice))
        .send({ content: 'x'.repeat(4001) });
      expect(long.status).toBe(400);
      expect(long.body.details).toEqual([{ field: 'content', errors: [expect.stringContaining('4000')] }]);
      // Code points: 4,000 emoji are 8,000 UTF-16 units and fit.
      const emoji = await t
        .http()
        .patch(`/messages/${msg.id}`)
        .set(auth(alice))
        .send({ content: '\u{1F600}'.repeat(4000) });
      expect([emoji.status, [...(emoji.body as { content: string }).content].length]).toEqual([200, 4000]);
    });

    it('refuses blank content with VALIDATION_FAILED on content; real content keeps its spaces', async () => {
      const msg = await send(t, alice, room, 'to blank');
      for (const content of [' ', '\n\t', '\u00a0\u3000', '\u200b\ufeff', ' \u200d ']) {
        const res = await t.http().patch(`/messages/${msg.id}`).set(auth(alice)).send({ content });
        expect([content, res.status, res.body.code, res.body.details]).toEqual([
          content,
          400,
          'VALIDATION_FAILED',
          [{ field: 'content', errors: ['content must not be blank (only whitespace)'] }],
        ]);
      }
      expect((await historyItem(t, alice, room, msg.id)).content).toBe('to blank');
      const ok = await t.http().patch(`/messages/${msg.id}`).set(auth(alice)).send({ content: '  padded\u00a0' });
      expect([ok.status, ok.body.content]).toEqual([200, '  padded\u00a0']);
    });

    it('keeps an image message a link: its edit must be an http(s) URL too', async () => {
      const s = await connect(t.url, alice.token);
      const sent = await emitAck(s, 'sendMessage', {
        chatroomId: room,
        message: { type: 'image', content: 'https://example.com/a.png' },
      });
      expect(sent.ok).toBe(true);
      const bad = await t
        .http()
        .patch(`/messages/${sent.data.id}`)
        .set(auth(alice))
        .send({ content: 'javascript:alert(1)' });
      expect([bad.status, bad.body.code, bad.body.details]).toEqual([
        400,
        'VALIDATION_FAILED',
        [{ field: 'content', errors: ['content must be an http(s) URL for image and file messages'] }],
      ]);
      const good = await t
        .http()
        .patch(`/messages/${sent.data.id}`)
        .set(auth(alice))
        .send({ content: 'https://example.com/b.png' });
      expect([good.status, good.body.content]).toEqual([200, 'https://example.com/b.png']);
    });

    it('lets the sender edit; members get an editMessage event; history shows the edit', async () => {
      const msg = await send(t, alice, room, 'typo');
      const bobSocket = await joined(t, bob, room);
      const event = waitFor(bobSocket, 'message', (e: any) => e.type === 'editMessage' && e.message.id === msg.id);
      const res = await t.http().patch(`/messages/${msg.id}`).set(auth(alice)).send({ content: 'fixed' });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ id: msg.id, seq: msg.seq, content: 'fixed', editedAt: expect.any(String) });
      expect(await event).toEqual({ type: 'editMessage', chatroomId: room, userId: alice.id, message: res.body });
      expect(await historyItem(t, bob, room, msg.id)).toMatchObject({ content: 'fixed', editedAt: res.body.editedAt });
    });

    it("is 403 on someone else's message, 404 outside the room; admins may edit anything", async () => {
      const msg = await send(t, alice, room, 'original');
      const byBob = await t.http().patch(`/messages/${msg.id}`).set(auth(bob)).send({ content: 'hijack' });
      expect(byBob.status).toBe(403);
      expect(byBob.body.code).toBe('FORBIDDEN');
      expect((await t.http().patch(`/messages/${msg.id}`).set(auth(eve)).send({ content: 'x' })).status).toBe(404);
      expect((await t.http().patch(`/messages/${UNKNOWN}`).set(auth(alice)).send({ content: 'x' })).status).toBe(404);
      const byAdmin = await t.http().patch(`/messages/${msg.id}`).set(auth(admin)).send({ content: 'moderated' });
      expect(byAdmin.status).toBe(200);
      expect((await historyItem(t, alice, room, msg.id)).content).toBe('moderated');
    });

    it('refuses to edit a tombstone with 409', async () => {
      const msg = await send(t, alice, room, 'gone soon');
      await t.http().delete(`/messages/${msg.id}`).set(auth(alice));
      const res = await t.http().patch(`/messages/${msg.id}`).set(auth(alice)).send({ content: 'back' });
      expect(res.status).toBe(409);
      expect(res.body.code).toBe('CONFLICT');
    });

    it('is 403 after the edit window (MESSAGE_EDIT_WINDOW_S); admins still may', async () => {
      // 3 s, not 1: the in-time edit follows a send on a freshly booted app, on a busy machine.
      const short = await startApp({ MESSAGE_EDIT_WINDOW_S: '3' });
      try {
        const msg = await send(short, alice, room, 'quick');
        expect(
          (await short.http().patch(`/messages/${msg.id}`).set(auth(alice)).send({ content: 'in time' })).status,
        ).toBe(200);
        await sleep(3200);
        const late = await short.http().patch(`/messages/${msg.id}`).set(auth(alice)).send({ content: 'too late' });
        expect(late.status).toBe(403);
        expect(late.body.message).toMatch(/edit window/);
        expect(
          (await short.http().patch(`/messages/${msg.id}`).set(auth(admin)).send({ content: 'admin' })).status,
        ).toBe(200);
      } finally {
        await short.close();
      }
    });
  });

  describe('DELETE /messages/:id', () => {
    it('should require authentication', async () => {
      expect((await t.http().delete(`/messages/${UNKNOWN}`)).status).toBe(401);
    });

    it('validates the id', async () => {
      expect((await t.http().delete('/messages/not-a-uuid').set(auth(alice))).status).toBe(400);
    });

    it('retracts for everyone: deleteMessage event, tombstone in history with its seq, 204 again', async () => {
      const msg = await send(t, alice, room, 'oops');
      const bobSocket = await joined(t, bob, room);
      const events = collect(bobSocket, 'message');
      expect((await t.http().delete(`/messages/${msg.id}`).set(auth(alice))).status).toBe(204);
      await eventually(() => events.some((e) => e.type === 'deleteMessage'), 5000, 'deleteMessage');
      const [event] = events.filter((e) => e.type === 'deleteMessage');
      expect(event).toMatchObject({ chatroomId: room, userId: alice.id });
      expect(event.message).toMatchObject({ id: msg.id, seq: msg.seq, deleted: true, content: '' });
      const tomb = await historyItem(t, carol, room, msg.id);
      expect(tomb).toMatchObject({ seq: msg.seq, deleted: true, content: '' });
      // Idempotent: 204 again, and no second event.
      expect((await t.http().delete(`/messages/${msg.id}`).set(auth(alice))).status).toBe(204);
      await sleep(200);
      expect(events.filter((e) => e.type === 'deleteMessage')).toHaveLength(1);
      await stored(msg.id);
      const [row] = await sql('SELECT content, deleted_at, deleted_by_id FROM messages WHERE id = $1', [msg.id]);
      expect(row).toMatchObject({ content: '', deleted_at: expect.any(Date), deleted_by_id: alice.id });
    });

    it("is 403 on someone else's message and 404 outside the room; admins may", async () => {
      const msg = await send(t, alice, room, 'mine');
      expect((await t.http().delete(`/messages/${msg.id}`).set(auth(bob))).status).toBe(403);
      expect((await t.http().delete(`/messages/${msg.id}`).set(auth(eve))).status).toBe(404);
      expect((await historyItem(t, alice, room, msg.id)).deleted).toBeUndefined();
      expect((await t.http().delete(`/messages/${msg.id}`).set(auth(admin))).status).toBe(204);
      expect((await historyItem(t, alice, room, msg.id)).deleted).toBe(true);
    });

    it('is 404 to a sender who left the room', async () => {
      const leaver = await createUser(t, 'leaver');
      const r = await createRoom(t, alice, [leaver]);
      const msg = await send(t, leaver, r, 'bye');
      expect((await t.http().delete(`/chatrooms/${r}/members/${leaver.id}`).set(auth(leaver))).status).toBe(204);
      expect((await t.http().delete(`/messages/${msg.id}`).set(auth(leaver))).status).toBe(404);
    });
  });

  describe('DELETE /messages', () => {
    it('should require authentication', async () => {
      expect(
        (
          await t
            .http()
            .delete('/messages')
            .send({ ids: [UNKNOWN] })
        ).status,
      ).toBe(401);
    });

    it('validates the body', async () => {
      const cases = [{}, { ids: [] }, { ids: ['x'] }, { ids: Array(101).fill(UNKNOWN) }, { ids: [UNKNOWN], extra: 1 }];
      for (const body of cases) {
        const res = await t.http().delete('/messages').set(auth(alice)).send(body);
        expect([res.status, res.body.code]).toEqual([400, 'VALIDATION_FAILED']);
      }
    });

    it('retracts all or nothing: one foreign id is 403, one unknown id 404, and nothing changes', async () => {
      const a1 = await send(t, alice, room, 'bulk 1');
      const a2 = await send(t, alice, room, 'bulk 2');
      const b1 = await send(t, bob, room, 'bobs');
      const forbidden = await t
        .http()
        .delete('/messages')
        .set(auth(alice))
        .send({ ids: [a1.id, b1.id] });
      expect(forbidden.status).toBe(403);
      const unknown = await t
        .http()
        .delete('/messages')
        .set(auth(alice))
        .send({ ids: [a1.id, UNKNOWN] });
      expect(unknown.status).toBe(404);
      expect(unknown.body.details).toEqual({ ids: [UNKNOWN] });
      const outsider = await t
        .http()
        .delete('/messages')
        .set(auth(eve))
        .send({ ids: [a1.id] });
      expect(outsider.status).toBe(404);
      for (const m of [a1, a2, b1]) expect((await historyItem(t, alice, room, m.id)).deleted).toBeUndefined();

      const ok = await t
        .http()
        .delete('/messages')
        .set(auth(alice))
        .send({ ids: [a1.id, a2.id, a1.id] });
      expect(ok.status).toBe(200);
      expect(ok.body.deleted.sort()).toEqual([a1.id, a2.id].sort());
      for (const m of [a1, a2])
        expect(await historyItem(t, bob, room, m.id)).toMatchObject({ deleted: true, content: '' });
      expect((await historyItem(t, bob, room, b1.id)).content).toBe('bobs');
    });
  });
});

describe('messages still in the queue (e2e)', () => {
  let t: TestApp;
  let alice: TestUser, bob: TestUser, admin: TestUser;

  afterEach(async () => {
    closeAllSockets();
    await t?.close();
  });

  it('lists my queued messages in /messages/sent at once, with readCount, and once each after they are stored', async () => {
    t = await startApp({ WORKER_ENABLED: 'false' });
    const [carol] = await Promise.all(['scarol'].map((n) => createUser(t, n)));
    [alice, bob] = await Promise.all(['salice', 'sbob'].map((n) => createUser(t, n)));
    const room = await createRoom(t, alice, [bob, carol]);
    const other = await createRoom(t, alice, [bob], 'other');
    const m1 = await send(t, alice, room, 'one');
    const m2 = await send(t, alice, room, 'two');
    const m3 = await send(t, alice, room, 'three');
    const elsewhere = await send(t, alice, other, 'elsewhere');
    // (In the other room: storing it moves bob's read position in its room to it.)
    const bobs = await send(t, bob, other, 'not mine');
    // bob read up to m2 by position, carol m3 alone, by id; m1 retracted: all while queued.
    const b = await connect(t.url, bob.token);
    expect((await emitAck(b, 'markRead', { chatroomId: room, seq: m2.seq })).ok).toBe(true);
    expect(
      (
        await t
          .http()
          .post('/inbox/read')
          .set(auth(carol))
          .send({ messageIds: [m3.id] })
      ).status,
    ).toBe(200);
    expect((await t.http().delete(`/messages/${m1.id}`).set(auth(alice))).status).toBe(204);
    expect(await isStored(m1.id)).toBe(false);

    const listed = async () => {
      const first = await t.http().get(`/messages/sent?chatroomId=${room}&limit=2`).set(auth(alice));
      expect(first.status).toBe(200);
      expect(first.body).toMatchObject({ hasMore: true, nextCursor: m2.id });
      const next = await t.http().get(`/messages/sent?chatroomId=${room}&limit=2&cursor=${m2.id}`).set(auth(alice));
      expect(next.body).toMatchObject({ hasMore: false });
      const all = await t.http().get('/messages/sent').set(auth(alice));
      return {
        room: [...first.body.items, ...next.body.items].map((m: any) => [m.content, m.readCount, m.deleted ?? false]),
        all: all.body.items.map((m: any) => m.id),
      };
    };
    const expected = {
      room: [
        ['three', 1, false],
        ['two', 1, false],
        ['', 1, true],
      ],
      all: [elsewhere.id, m3.id, m2.id, m1.id],
    };
    expect(await listed()).toEqual(expected);
    expect((await listed()).all).not.toContain(bobs.id);

    // Stored, and still in the buffer for a moment, or gone from it: the same list.
    const worker = await startWorker();
    try {
      await Promise.all([m1, m2, m3, elsewhere].map((m) => stored(m.id)));
      expect(await listed()).toEqual(expected);
    } finally {
      await worker.close();
    }
  });

  it('edits and retractions of queued messages hold after the worker stores them', async () => {
    t = await startApp({ WORKER_ENABLED: 'false' });
    [alice, bob, admin] = await Promise.all(['qalice', 'qbob', 'qadmin'].map((n) => createUser(t, n)));
    await sql("UPDATE users SET role = 'admin' WHERE id = $1", [admin.id]);
    const room = await createRoom(t, alice, [bob]);
    const edited = await send(t, alice, room, 'before edit');
    const retracted = await send(t, alice, room, 'before retraction');
    const moderated = await send(t, bob, room, 'before moderation');
    const both = await send(t, alice, room, 'edited, then retracted');
    await sleep(200);
    expect(await isStored(edited.id)).toBe(false);

    expect(
      (await t.http().patch(`/messages/${edited.id}`).set(auth(alice)).send({ content: 'after edit' })).status,
    ).toBe(200);
    expect((await t.http().delete(`/messages/${retracted.id}`).set(auth(alice))).status).toBe(204);
    expect((await t.http().delete(`/admin/messages/${moderated.id}`).set(auth(admin))).status).toBe(204);
    // Two mutations of one queued message: both patch its entry, the retraction wins.
    expect((await t.http().patch(`/messages/${both.id}`).set(auth(alice)).send({ content: 'edited' })).status).toBe(
      200,
    );
    expect((await t.http().delete(`/messages/${both.id}`).set(auth(alice))).status).toBe(204);
    const view = await t.http().get(`/admin/messages/${edited.id}`).set(auth(admin));
    expect(view.body).toMatchObject({ content: 'after edit', room: { id: room }, receipts: [{ userId: bob.id }] });
    expect(await historyItem(t, bob, room, edited.id)).toMatchObject({ content: 'after edit' });
    expect(await historyItem(t, bob, room, retracted.id)).toMatchObject({ deleted: true, content: '' });

    const worker = await startWorker();
    try {
      type Row = {
        id: string;
        content: string;
        edited_at: Date | null;
        deleted_at: Date | null;
        deleted_by_id: number | null;
      };
      const rowsOf = () =>
        sql<Row>(
          'SELECT id, content, edited_at, deleted_at, deleted_by_id FROM messages WHERE chatroom_id = $1 ORDER BY seq',
          [room],
        );
      // The worker stores the entries as they are now: every mutation is in them.
      const rows = await eventually(
        async () => {
          const r = await rowsOf();
          return r.length === 4 && r[0].edited_at && r[1].deleted_at && r[2].deleted_at && r[3].deleted_at ? r : null;
        },
        10_000,
        'stored rows with their mutations',
      );
      expect(rows).toEqual([
        expect.objectContaining({
          id: edited.id,
          content: 'after edit',
          edited_at: expect.any(Date),
          deleted_at: null,
        }),
        expect.objectContaining({
          id: retracted.id,
          content: '',
          deleted_at: expect.any(Date),
          deleted_by_id: alice.id,
        }),
        expect.objectContaining({
          id: moderated.id,
          content: '',
          deleted_at: expect.any(Date),
          deleted_by_id: admin.id,
        }),
        expect.objectContaining({
          id: both.id,
          content: '',
          edited_at: expect.any(Date),
          deleted_at: expect.any(Date),
          deleted_by_id: alice.id,
        }),
      ]);
      expect(await historyItem(t, bob, room, edited.id)).toMatchObject({
        content: 'after edit',
        editedAt: expect.any(String),
      });
      expect(await historyItem(t, bob, room, retracted.id)).toMatchObject({
        seq: retracted.seq,
        deleted: true,
        content: '',
      });
      expect(await historyItem(t, alice, room, moderated.id)).toMatchObject({ deleted: true, content: '' });
    } finally {
      await worker.close();
    }
  });

  /** An app without a worker, alice and bob in a room, and alice's message in its queue. */
  async function oneQueuedMessage(prefix: string) {
    t = await startApp({ WORKER_ENABLED: 'false' });
    [alice, bob] = await Promise.all([`${prefix}alice`, `${prefix}bob`].map((n) => createUser(t, n)));
    const room = await createRoom(t, alice, [bob]);
    const m = await send(t, alice, room, 'as sent');
    return { room, m, pending: t.app.get(PendingMessageStore), repo: t.app.get(MessageWriteRepository) };
  }

  it('an edit made after an earlier attempt stored the row reaches the row (the buffer copy is stored)', async () => {
    const { room, m, pending, repo } = await oneQueuedMessage('r');
    // A worker stored the row, then died before dropping the entry from the buffer.
    const [copy] = await pending.read(seqRunsByRoom([m]));
    expect(await repo.insertBatch([copy.message])).toBe(1);

    expect((await t.http().patch(`/messages/${m.id}`).set(auth(alice)).send({ content: 'edited later' })).status).toBe(
      200,
    );
    // Still queued: the edit went to its entry, which readers see; the row is the retry's job.
    expect((await sql<{ content: string }>('SELECT content FROM messages WHERE id = $1', [m.id]))[0].content).toBe(
      'as sent',
    );
    expect(await historyItem(t, bob, room, m.id)).toMatchObject({ content: 'edited later' });

    const worker = await startWorker(); // runs the send's job, as a retry would
    try {
      await eventually(
        async () => (await pending.range(room, 0, Infinity)).length === 0,
        10_000,
        'the entry dropped from the buffer',
      );
      const [row] = await sql<{ content: string; edited_at: Date | null }>(
        'SELECT content, edited_at FROM messages WHERE id = $1',
        [m.id],
      );
      expect(row).toEqual({ content: 'edited later', edited_at: expect.any(Date) });
    } finally {
      await worker.close();
    }
  });

  it('an entry edited while being stored stays queued until its row has the edit; an older copy never undoes one', async () => {
    const { room, m, pending, repo } = await oneQueuedMessage('s');
    const rowOf = async () =>
      (
        await sql<{ content: string; deleted_at: Date | null }>(
          'SELECT content, deleted_at FROM messages WHERE id = $1',
          [m.id],
        )
      )[0];

    // The worker's steps, with an edit landing between its store and its removal.
    const copies = await pending.read(seqRunsByRoom([m]));
    await repo.insertBatch(copies.map((c) => c.message));
    const editedAt = new Date().toISOString();
    expect(await pending.patchPending(m, { content: 'edit 1', editedAt })).toBe('applied');
    const changed = await pending.removeStored(copies);
    expect(changed.map((c) => c.message)).toEqual([expect.objectContaining({ id: m.id, content: 'edit 1', editedAt })]);
    expect(await pending.range(room, 0, Infinity)).toEqual([expect.objectContaining({ content: 'edit 1' })]);
    expect(await historyItem(t, bob, room, m.id)).toMatchObject({ content: 'edit 1' });
    // Found by id as queued, not as its row, which is behind: a retraction now would be
    // checked against (and applied to) the newest copy.
    expect(await t.app.get(ChatHistoryService).findMessage(m.id)).toMatchObject({ content: 'edit 1' });
    // Next round: the row catches up, and now the bytes match.
    expect(await repo.catchUp(changed.map((c) => c.message))).toBe(1);
    expect(await pending.removeStored(changed)).toEqual([]);
    expect(await pending.range(room, 0, Infinity)).toEqual([]);
    expect((await rowOf()).content).toBe('edit 1');

    // No longer queued: an edit goes to the row. A stalled duplicate of the job, holding
    // the older copy, must not bring 'edit 1' back.
    expect(await pending.patchPending(m, { content: 'x', editedAt: new Date().toISOString() })).toBe('not-queued');
    expect((await t.http().patch(`/messages/${m.id}`).set(auth(alice)).send({ content: 'edit 2' })).status).toBe(200);
    expect(await repo.catchUp(changed.map((c) => c.message))).toBe(0);
    expect((await rowOf()).content).toBe('edit 2');
    // Nor un-delete a tombstone.
    expect((await t.http().delete(`/messages/${m.id}`).set(auth(alice))).status).toBe(204);
    expect(await repo.catchUp([{ ...changed[0].message, editedAt: new Date(Date.now() + 60_000).toISOString() }])).toBe(
      0,
    );
    expect(await rowOf()).toEqual({ content: '', deleted_at: expect.any(Date) });
  });
});
