import type { Socket } from 'socket.io-client';
import { eventually, resetState, sql, startApp, TestApp } from './utils/app';
import { closeAllSockets, connect, emitAck } from './utils/sockets';
import { auth, createRoom, createUser, TestUser } from './utils/users';

/**
 * Message ids are UUIDs, and a UUID reads the same in either case: every route that takes one
 * (path, body list, cursor) answers an upper-case id as it answers the id as issued, for a
 * stored message and for one still queued. Lookups keyed by the lower-case id answered 404.
 */
describe('message ids in upper case (e2e)', () => {
  let t: TestApp;
  let alice: TestUser, bob: TestUser, admin: TestUser;
  let room: number;
  /** Per kind, messages of alice's: one to read and edit, one per destructive route. */
  const msgs: Record<'stored' | 'queued', Record<string, string>> = { stored: {}, queued: {} };
  const ROLES = ['main', 'hideOne', 'hideMany', 'retractOne', 'retractMany', 'moderateOne', 'moderateMany'];
  const U = (id: string) => id.toUpperCase();

  async function sendAll(kind: 'stored' | 'queued'): Promise<void> {
    const s: Socket = await connect(t.url, alice.token);
    for (const role of ROLES) {
      const ack = await emitAck(s, 'sendMessage', { chatroomId: room, message: { type: 'text', content: role } });
      expect(ack.ok).toBe(true);
      msgs[kind][role] = ack.data.id;
    }
    s.disconnect();
  }

  beforeAll(async () => {
    await resetState();
    t = await startApp({ SEND_BURST: '200' });
    [alice, bob, admin] = await Promise.all(['caseA', 'caseB', 'caseAdm'].map((n) => createUser(t, n)));
    await sql("UPDATE users SET role = 'admin' WHERE id = $1", [admin.id]);
    room = await createRoom(t, alice, [bob]);
    await sendAll('stored');
    const ids = Object.values(msgs.stored);
    await eventually(
      async () => (await sql('SELECT 1 FROM messages WHERE id = ANY($1::uuid[])', [ids])).length === ids.length,
      10_000,
      'stored messages',
    );
    // The same database and Redis without a worker: what is sent now stays queued.
    await t.close();
    t = await startApp({ SEND_BURST: '200', WORKER_ENABLED: 'false' });
    await sendAll('queued');
    const queuedIds = Object.values(msgs.queued);
    expect(await sql('SELECT 1 FROM messages WHERE id = ANY($1::uuid[])', [queuedIds])).toEqual([]);
    // Issued in lower case, with letters in them: upper case is a different string.
    for (const id of [...ids, ...queuedIds]) expect(U(id)).not.toBe(id);
  }, 30_000);
  afterAll(async () => {
    closeAllSockets();
    await t?.close();
  });

  describe.each(['stored', 'queued'] as const)('a %s message', (kind) => {
    const id = (role: string) => msgs[kind][role];

    it('reads the same by path: inbox, receipts, admin view', async () => {
      const routes: [TestUser, (id: string) => string][] = [
        [bob, (m) => `/inbox/messages/${m}`],
        [alice, (m) => `/messages/${m}/receipts`],
        [admin, (m) => `/admin/messages/${m}`],
      ];
      for (const [user, path] of routes) {
        const lower = await t
          .http()
          .get(path(id('main')))
          .set(auth(user));
        const upper = await t
          .http()
          .get(path(U(id('main'))))
          .set(auth(user));
        expect(lower.status).toBe(200);
        expect([upper.status, upper.body]).toEqual([lower.status, lower.body]);
      }
    });

    it('edits and marks read by an upper-case id', async () => {
      const edit = await t
        .http()
        .patch(`/messages/${U(id('main'))}`)
        .set(auth(alice))
        .send({ content: `edited ${kind}` });
      expect(edit.status).toBe(200);
      expect(edit.body).toMatchObject({ id: id('main'), content: `edited ${kind}` });
      const read = await t
        .http()
        .post('/inbox/read')
        .set(auth(bob))
        .send({ messageIds: [U(id('main'))] });
      expect(read.status).toBe(200);
      const view = await t
        .http()
        .get(`/inbox/messages/${id('main')}`)
        .set(auth(bob));
      expect(view.body).toMatchObject({ id: id('main'), content: `edited ${kind}`, read: true });
    });

    it('hides, retracts and moderates by an upper-case id, one or a list', async () => {
      const calls: [TestUser, string, object | undefined, number][] = [
        [bob, `/inbox/messages/${U(id('hideOne'))}`, undefined, 204],
        [bob, '/inbox/messages', { ids: [U(id('hideMany'))] }, 200],
        [alice, `/messages/${U(id('retractOne'))}`, undefined, 204],
        [alice, '/messages', { ids: [U(id('retractMany'))] }, 200],
        [admin, `/admin/messages/${U(id('moderateOne'))}`, undefined, 204],
        [admin, '/admin/messages', { ids: [U(id('moderateMany'))] }, 200],
      ];
      for (const [user, path, body, status] of calls) {
        const req = t.http().delete(path).set(auth(user));
        const res = await (body ? req.send(body) : req);
        expect([path, res.status]).toEqual([path, status]);
      }
      for (const role of ['hideOne', 'hideMany'])
        expect(
          (
            await t
              .http()
              .get(`/inbox/messages/${id(role)}`)
              .set(auth(bob))
          ).status,
        ).toBe(404);
      const history = await t.http().get(`/chatrooms/${room}/messages?limit=200`).set(auth(alice));
      const deleted = history.body.items
        .filter((m: { deleted?: boolean }) => m.deleted)
        .map((m: { id: string }) => m.id);
      expect(deleted).toEqual(
        expect.arrayContaining(['retractOne', 'retractMany', 'moderateOne', 'moderateMany'].map(id)),
      );
    });
  });

  it('pages the same with an upper-case cursor: inbox (queued and stored), sent, admin', async () => {
    const cursor = msgs.queued.moderateMany; // the newest: every other message is older
    const lists: [TestUser, string][] = [
      [bob, '/inbox/messages?limit=200'],
      [alice, '/messages/sent?limit=200'],
      [admin, '/admin/messages?limit=200&includeDeleted=true'],
    ];
    for (const [user, path] of lists) {
      const lower = await t.http().get(`${path}&cursor=${cursor}`).set(auth(user));
      const upper = await t
        .http()
        .get(`${path}&cursor=${U(cursor)}`)
        .set(auth(user));
      expect(lower.status).toBe(200);
      expect([path, upper.status, upper.body]).toEqual([path, lower.status, lower.body]);
    }
    // The inbox lists queued messages older than the cursor too (the others read the table).
    const inbox = await t
      .http()
      .get(`/inbox/messages?limit=200&cursor=${U(cursor)}`)
      .set(auth(bob));
    expect(inbox.body.items.map((m: { id: string }) => m.id)).toContain(msgs.queued.main);
  });
});
