import { eventually, resetState, sql, startApp, TestApp } from './utils/app';
import { closeAllSockets, connect, emitAck, waitFor } from './utils/sockets';
import { auth, createRoom, createUser, TestUser } from './utils/users';

/** Sends through the socket, as clients do; resolves with the acked Message. */
async function send(t: TestApp, u: TestUser, chatroomId: number, content: string, type = 'text'): Promise<any> {
  const s = await connect(t.url, u.token);
  try {
    const ack = await emitAck(s, 'sendMessage', { chatroomId, message: { type, content } });
    expect(ack.ok).toBe(true);
    return ack.data;
  } finally {
    s.disconnect();
  }
}

/** Admin search reads the table: wait until the worker stored these. */
async function stored(...messages: { id: string }[]): Promise<void> {
  const ids = messages.map((m) => m.id);
  await eventually(
    async () => (await sql('SELECT 1 FROM messages WHERE id = ANY($1::uuid[])', [ids])).length === ids.length,
    10_000,
    'messages stored',
  );
}

type AuditRow = { admin_id: number; action: string; target_ids: string[]; details: any };
const lastAudit = async (): Promise<AuditRow> =>
  (await sql<AuditRow>('SELECT admin_id, action, target_ids, details FROM admin_audit ORDER BY id DESC LIMIT 1'))[0];
const auditCount = async () => (await sql<{ n: number }>('SELECT count(*)::int AS n FROM admin_audit'))[0].n;

const UNKNOWN = '01900000-0000-7000-8000-000000000000';
const ROUTES: [string, string][] = [
  ['get', '/admin/messages'],
  ['get', `/admin/messages/${UNKNOWN}`],
  ['delete', `/admin/messages/${UNKNOWN}`],
  ['delete', '/admin/messages'],
];

describe('admin messages (e2e)', () => {
  let t: TestApp;
  let alice: TestUser, bob: TestUser, admin: TestUser;
  let room: number, other: number;
  let fox: any, dog: any, bread: any, image: any, bobs: any;

  beforeAll(async () => {
    await resetState();
    t = await startApp({ SEND_BURST: '200' });
    [alice, bob, admin] = await Promise.all(['alice', 'bob', 'admin'].map((n) => createUser(t, n)));
    await sql("UPDATE users SET role = 'admin' WHERE id = $1", [admin.id]);
    room = await createRoom(t, alice, [bob], 'general');
    other = await createRoom(t, bob, [], 'bob-only');
    fox = await send(t, alice, room, 'the quick brown fox');
    dog = await send(t, alice, room, 'a lazy dog sleeps');
    bread = await send(t, bob, room, 'Brown bread, please');
    image = await send(t, alice, room, 'https://example.com/cat.png', 'image');
    bobs = await send(t, bob, other, 'alone in here');
    await stored(fox, dog, bread, image, bobs);
  });
  afterEach(() => closeAllSockets());
  afterAll(() => t.close());

  it.each(ROUTES)('%s %s should require authentication', async (method, path) => {
    const res = await (t.http() as any)[method](path);
    expect([res.status, res.body.code]).toEqual([401, 'UNAUTHORIZED']);
  });

  it.each(ROUTES)('%s %s is 403 to a plain user', async (method, path) => {
    const res = await (t.http() as any)
      [method](path)
      .set(auth(alice))
      .send({ ids: [fox.id] });
    expect([res.status, res.body.code]).toEqual([403, 'FORBIDDEN']);
  });

  it('a plain user changed nothing and left no audit row', async () => {
    expect(await auditCount()).toBe(0);
    const [row] = await sql('SELECT deleted_at FROM messages WHERE id = $1', [fox.id]);
    expect(row.deleted_at).toBeNull();
  });

  describe('GET /admin/messages', () => {
    it('validates the query', async () => {
      const res = await t
        .http()
        .get('/admin/messages?type=video&includeDeleted=maybe&from=yesterday&limit=500&senderId=x&q=')
        .set(auth(admin));
      expect(res.status).toBe(400);
      const fields = res.body.details.map((d: { field: string }) => d.field).sort();
      expect(fields).toEqual(['from', 'includeDeleted', 'limit', 'q', 'senderId', 'type']);
    });

    it('lists every message newest first, in rooms the admin is not in, by cursor', async () => {
      const first = await t.http().get('/admin/messages?limit=3').set(auth(admin));
      expect(first.status).toBe(200);
      expect(first.body.items.map((m: any) => m.id)).toEqual([bobs.id, image.id, bread.id]);
      expect(first.body).toMatchObject({ hasMore: true, nextCursor: bread.id });
      expect(first.body.items[0]).toMatchObject({ sender: { id: bob.id, username: bob.username }, chatroomId: other });
      const next = await t.http().get(`/admin/messages?limit=3&cursor=${bread.id}`).set(auth(admin));
      expect(next.body).toEqual({
        items: [expect.objectContaining({ id: dog.id }), expect.objectContaining({ id: fox.id })],
        hasMore: false,
      });
    });

    it('filters by room, sender, type and time, and writes an audit row with the filters', async () => {
      const ids = async (query: string) =>
        (await t.http().get(`/admin/messages?${query}`).set(auth(admin))).body.items.map((m: any) => m.id);
      expect(await ids(`chatroomId=${other}`)).toEqual([bobs.id]);
      expect(await ids(`senderId=${bob.id}`)).toEqual([bobs.id, bread.id]);
      expect(await ids('type=image')).toEqual([image.id]);
      expect(await ids(`from=${encodeURIComponent(image.createdAt)}`)).toEqual([bobs.id, image.id]);
      expect(await ids(`to=${encodeURIComponent(image.createdAt)}&chatroomId=${room}`)).toEqual([
        bread.id,
        dog.id,
        fox.id,
      ]);
      expect(await lastAudit()).toEqual({
        admin_id: admin.id,
        action: 'messages.search',
        target_ids: [bread.id, dog.id, fox.id],
        details: { limit: 50, to: image.createdAt, chatroomId: room },
      });
    });

    it('searches the content (q) by words, case-insensitively', async () => {
      const search = async (q: string) =>
        (
          await t
            .http()
            .get(`/admin/messages?q=${encodeURIComponent(q)}`)
            .set(auth(admin))
        ).body.items.map((m: any) => m.id);
      expect(await search('fox')).toEqual([fox.id]);
      expect(await search('brown')).toEqual([bread.id, fox.id]);
      expect(await search('lazy dogs')).toEqual([]);
      expect(await search('LAZY dog')).toEqual([dog.id]);
      expect((await lastAudit()).details).toEqual({ limit: 50, q: 'LAZY dog' });
    });
  });

  describe('GET /admin/messages/:id', () => {
    it('validates the id and 404s for unknown ones', async () => {
      expect((await t.http().get('/admin/messages/42').set(auth(admin))).status).toBe(400);
      expect((await t.http().get(`/admin/messages/${UNKNOWN}`).set(auth(admin))).status).toBe(404);
    });

    it('shows the message with its room and read receipts, audited', async () => {
      await sql('UPDATE chatroom_members SET read_seq = $1 WHERE chatroom_id = $2 AND user_id = $3', [
        fox.seq,
        room,
        bob.id,
      ]);
      const res = await t.http().get(`/admin/messages/${fox.id}`).set(auth(admin));
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({
        id: fox.id,
        content: 'the quick brown fox',
        sender: { id: alice.id },
        room: { id: room, name: 'general', type: 'group' },
        receipts: [{ userId: bob.id, read: true }],
      });
      expect(await lastAudit()).toMatchObject({ admin_id: admin.id, action: 'messages.view', target_ids: [fox.id] });
    });
  });

  describe('DELETE /admin/messages/:id', () => {
    it('moderates any message: tombstone in history, deleteMessage event from the admin, audit row', async () => {
      const s = await connect(t.url, bob.token);
      await emitAck(s, 'joinRoom', { chatroomId: room });
      const event = waitFor(s, 'message', (e: any) => e.type === 'deleteMessage' && e.message.id === dog.id);
      expect((await t.http().delete(`/admin/messages/${dog.id}`).set(auth(admin))).status).toBe(204);
      expect(await event).toMatchObject({
        chatroomId: room,
        userId: admin.id,
        message: { deleted: true, content: '' },
      });
      const history = await t.http().get(`/chatrooms/${room}/messages`).set(auth(alice));
      expect(history.body.items.find((m: any) => m.id === dog.id)).toMatchObject({
        seq: dog.seq,
        deleted: true,
        content: '',
      });
      const [row] = await sql('SELECT content, deleted_by_id FROM messages WHERE id = $1', [dog.id]);
      expect(row).toEqual({ content: '', deleted_by_id: admin.id });
      expect(await lastAudit()).toMatchObject({ action: 'messages.delete', target_ids: [dog.id] });
      expect((await t.http().delete(`/admin/messages/${dog.id}`).set(auth(admin))).status).toBe(204);
    });

    it('hides tombstones from the list unless includeDeleted=true', async () => {
      const list = async (query: string) =>
        (await t.http().get(`/admin/messages?chatroomId=${room}${query}`).set(auth(admin))).body.items.map(
          (m: any) => m.id,
        );
      expect(await list('')).not.toContain(dog.id);
      expect(await list('&includeDeleted=true')).toContain(dog.id);
      expect(await list('&includeDeleted=false')).not.toContain(dog.id);
    });

    it('404s for unknown ids', async () => {
      expect((await t.http().delete(`/admin/messages/${UNKNOWN}`).set(auth(admin))).status).toBe(404);
    });
  });

  describe('DELETE /admin/messages', () => {
    it('validates the body', async () => {
      for (const body of [{}, { ids: [] }, { ids: [42] }, { ids: [fox.id], reason: 'x' }]) {
        expect((await t.http().delete('/admin/messages').set(auth(admin)).send(body)).status).toBe(400);
      }
    });

    it('is all or nothing: an unknown id is 404 and nothing changes', async () => {
      const before = await auditCount();
      const res = await t
        .http()
        .delete('/admin/messages')
        .set(auth(admin))
        .send({ ids: [fox.id, UNKNOWN] });
      expect(res.status).toBe(404);
      const [row] = await sql('SELECT deleted_at FROM messages WHERE id = $1', [fox.id]);
      expect(row.deleted_at).toBeNull();
      expect(await auditCount()).toBe(before);
    });

    it('moderates several messages of several senders and rooms', async () => {
      const res = await t
        .http()
        .delete('/admin/messages')
        .set(auth(admin))
        .send({ ids: [fox.id, bobs.id] });
      expect(res.status).toBe(200);
      expect(res.body.deleted.sort()).toEqual([fox.id, bobs.id].sort());
      const rows = await sql('SELECT id FROM messages WHERE id = ANY($1::uuid[]) AND deleted_at IS NOT NULL', [
        [fox.id, bobs.id],
      ]);
      expect(rows).toHaveLength(2);
      const audit = await lastAudit();
      expect(audit).toMatchObject({ admin_id: admin.id, action: 'messages.delete' });
      expect(audit.target_ids.sort()).toEqual([fox.id, bobs.id].sort());
      expect(audit.details.chatroomIds.sort()).toEqual([room, other].sort());
    });
  });
});
