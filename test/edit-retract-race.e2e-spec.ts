/**
 * An edit racing a retraction or moderation (a hostile-client probe: 16 of 40 concurrent
 * PATCH + DELETE pairs answered 200 and announced `editMessage` after `deleteMessage`, though
 * the edit never applied). The race is made deterministic: the retraction lands first, and
 * the edit's read of the message is held back to the copy read before it, so its pre-check
 * (`message.deleted`) passes, as it does when the two requests interleave. Whether the edit
 * applies must then be the write's answer, for a queued message (its pending entry) and a
 * stored one (its row). The same holds for two edits crossing: the later one (editedAt) is
 * kept, whichever lands first.
 */
import type { Socket } from 'socket.io-client';
import { ChatHistoryService } from '../src/chat-history/chat-history.service';
import { MessageWriteRepository } from '../src/chat-history/message-write.repository';
import { PendingMessageStore } from '../src/chat-history/pending-message.store';
import { seqRunsByRoom } from '../src/chat-history/persist-job';
import { resetState, sql, startApp, TestApp } from './utils/app';
import { closeAllSockets, collect, connect, emitAck, sleep } from './utils/sockets';
import { auth, createRoom, createUser, TestUser } from './utils/users';

describe('an edit racing a retraction or moderation (e2e)', () => {
  let t: TestApp;
  let alice: TestUser, bob: TestUser, admin: TestUser;
  let room: number;
  let history: ChatHistoryService;

  beforeAll(async () => {
    await resetState();
    // No worker: a message stays queued until a test stores it (store()), as the worker would.
    t = await startApp({ WORKER_ENABLED: 'false', SEND_BURST: '200' });
    [alice, bob, admin] = await Promise.all(['ralice', 'rbob', 'radmin'].map((n) => createUser(t, n)));
    await sql("UPDATE users SET role = 'admin' WHERE id = $1", [admin.id]);
    room = await createRoom(t, alice, [bob]);
    history = t.app.get(ChatHistoryService);
  });
  afterEach(() => {
    jest.restoreAllMocks();
    closeAllSockets();
  });
  afterAll(() => t.close());

  async function send(content: string): Promise<any> {
    const s = await connect(t.url, alice.token);
    const ack = await emitAck(s, 'sendMessage', { chatroomId: room, message: { type: 'text', content } });
    s.disconnect();
    expect(ack.ok).toBe(true);
    return ack.data;
  }

  /** The worker's steps for one message: read its entry, insert it, drop the entry. */
  async function store(m: { id: string; chatroomId: number; seq: number }): Promise<void> {
    const pending = t.app.get(PendingMessageStore);
    const copies = await pending.read(seqRunsByRoom([m]));
    await t.app.get(MessageWriteRepository).insertBatch(copies.map((c) => c.message));
    expect(await pending.removeStored(copies)).toEqual([]);
    expect((await pending.findByIds([m.id])).size).toBe(0);
  }

  /** Bob in the room's broadcast, collecting its timeline events. */
  async function watch(): Promise<{ socket: Socket; events: any[] }> {
    const socket = await connect(t.url, bob.token);
    expect((await emitAck(socket, 'joinRoom', { chatroomId: room })).ok).toBe(true);
    return { socket, events: collect(socket, 'message') };
  }

  /**
   * The message as read now (before a retraction), and a way to make the next lookup by id
   * answer with that copy: armed after the retraction, just before the racing request.
   */
  async function readNow(id: string): Promise<() => jest.SpyInstance> {
    const before = await history.findMessages([id]);
    expect(before.get(id)?.deleted).toBeUndefined();
    return () => jest.spyOn(history, 'findMessages').mockClear().mockResolvedValueOnce(before);
  }

  const rowOf = async (id: string) =>
    (
      await sql<{ content: string; edited_at: Date | null; deleted_at: Date | null; deleted_by_id: number | null }>(
        'SELECT content, edited_at, deleted_at, deleted_by_id FROM messages WHERE id = $1',
        [id],
      )
    )[0];

  async function historyItem(id: string) {
    const res = await t.http().get(`/chatrooms/${room}/messages?limit=200`).set(auth(bob));
    expect(res.status).toBe(200);
    return res.body.items.find((m: { id: string }) => m.id === id);
  }

  /** The losing edit, its read held back (`hold`): 409, nothing announced, the tombstone as it was. */
  async function expectRefused(m: any, editor: TestUser, events: any[], hold: () => jest.SpyInstance) {
    const held = hold();
    const res = await t.http().patch(`/messages/${m.id}`).set(auth(editor)).send({ content: 'E' });
    expect(held).toHaveBeenCalledTimes(1); // the pre-check saw the live copy
    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({ code: 'CONFLICT', message: 'A retracted message cannot be edited' });
    await sleep(300); // an editMessage would be on its way by now
    expect(events.filter((e) => e.type === 'editMessage')).toEqual([]);
    expect(events.filter((e) => e.type === 'deleteMessage').map((e) => e.message.id)).toEqual([m.id]);
    const shown = await historyItem(m.id);
    expect(shown).toMatchObject({ seq: m.seq, deleted: true, content: '' });
    expect(shown.editedAt).toBeUndefined();
  }

  it('a queued message retracted by its sender: the edit is 409, no editMessage, stored as a tombstone', async () => {
    const m = await send('queued, then retracted');
    const { events } = await watch();
    const hold = await readNow(m.id);
    expect((await t.http().delete(`/messages/${m.id}`).set(auth(alice))).status).toBe(204);
    await expectRefused(m, alice, events, hold);
    await store(m);
    expect(await rowOf(m.id)).toEqual({
      content: '',
      edited_at: null,
      deleted_at: expect.any(Date),
      deleted_by_id: alice.id,
    });
  });

  it('a queued message moderated by an admin: the admin edit is 409 too', async () => {
    const m = await send('queued, then moderated');
    const { events } = await watch();
    const hold = await readNow(m.id);
    expect((await t.http().delete(`/admin/messages/${m.id}`).set(auth(admin))).status).toBe(204);
    await expectRefused(m, admin, events, hold);
    await store(m);
    expect(await rowOf(m.id)).toMatchObject({ content: '', edited_at: null, deleted_by_id: admin.id });
  });

  it('a stored message moderated by an admin: the sender edit is 409, the row keeps edited_at NULL', async () => {
    const m = await send('stored, then moderated');
    await store(m);
    const { events } = await watch();
    const hold = await readNow(m.id);
    expect((await t.http().delete(`/admin/messages/${m.id}`).set(auth(admin))).status).toBe(204);
    await expectRefused(m, alice, events, hold);
    expect(await rowOf(m.id)).toEqual({
      content: '',
      edited_at: null,
      deleted_at: expect.any(Date),
      deleted_by_id: admin.id,
    });
  });

  it('a stored message retracted by its sender: the admin edit is 409', async () => {
    const m = await send('stored, then retracted');
    await store(m);
    const { events } = await watch();
    const hold = await readNow(m.id);
    expect((await t.http().delete(`/messages/${m.id}`).set(auth(alice))).status).toBe(204);
    await expectRefused(m, admin, events, hold);
    expect(await rowOf(m.id)).toMatchObject({ content: '', edited_at: null, deleted_by_id: alice.id });
  });

  it('a retraction that lost the race to another is 204 and announces nothing twice (queued and stored)', async () => {
    const queued = await send('retracted twice, queued');
    const stored = await send('retracted twice, stored');
    await store(stored);
    const { events } = await watch();
    for (const m of [queued, stored]) {
      // The admin's read happened before the sender's retraction: it sees the message live.
      const hold = await readNow(m.id);
      expect((await t.http().delete(`/messages/${m.id}`).set(auth(alice))).status).toBe(204);
      const held = hold();
      const res = await t
        .http()
        .delete('/admin/messages')
        .set(auth(admin))
        .send({ ids: [m.id] });
      expect(held).toHaveBeenCalledTimes(1);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ deleted: [m.id] });
      const [audit] = await sql<{ details: any }>('SELECT details FROM admin_audit ORDER BY id DESC LIMIT 1');
      expect(audit.details.alreadyDeleted).toEqual([m.id]);
    }
    await store(queued);
    await sleep(300);
    expect(events.filter((e) => e.type === 'deleteMessage').map((e) => [e.message.id, e.userId])).toEqual([
      [queued.id, alice.id],
      [stored.id, alice.id],
    ]);
    // The first retraction stands: its deletedBy is the sender, not the admin who lost.
    expect((await rowOf(queued.id)).deleted_by_id).toBe(alice.id);
    expect((await rowOf(stored.id)).deleted_by_id).toBe(alice.id);
  });

  /** The next edit's write carries `editedAt`, not its own time: an edit made earlier that lands later. */
  function landsLate(editedAt: string): jest.SpyInstance {
    const mutate = history.mutate.bind(history);
    return jest.spyOn(history, 'mutate').mockImplementationOnce((m, patch) => mutate(m, { ...patch, editedAt }));
  }

  it.each(['queued', 'stored'])(
    'of two edits of a %s message that cross, the later is kept: the earlier is 409 and announces nothing',
    async (where) => {
      const m = await send(`edited twice, ${where}`);
      if (where === 'stored') await store(m);
      const { events } = await watch();
      const earlier = new Date(Date.now() - 1_000).toISOString();
      expect((await t.http().patch(`/messages/${m.id}`).set(auth(alice)).send({ content: 'later' })).status).toBe(200);
      const late = landsLate(earlier);
      const res = await t.http().patch(`/messages/${m.id}`).set(auth(admin)).send({ content: 'earlier' });
      expect(late).toHaveBeenCalledTimes(1);
      expect(res.status).toBe(409);
      expect(res.body).toMatchObject({ code: 'CONFLICT', message: expect.stringContaining('A later edit') });
      await sleep(300); // an editMessage would be on its way by now
      expect(events.filter((e) => e.type === 'editMessage').map((e) => e.message.content)).toEqual(['later']);
      expect(await historyItem(m.id)).toMatchObject({ content: 'later', editedAt: expect.any(String) });
      if (where === 'queued') await store(m);
      expect(await rowOf(m.id)).toMatchObject({ content: 'later', deleted_at: null });
    },
  );

  it('an edit that wins the race is applied and announced as before', async () => {
    const m = await send('edited in time');
    const { events } = await watch();
    const res = await t.http().patch(`/messages/${m.id}`).set(auth(alice)).send({ content: 'E' });
    expect(res.status).toBe(200);
    await store(m);
    const again = await t.http().patch(`/messages/${m.id}`).set(auth(alice)).send({ content: 'E2' });
    expect(again.status).toBe(200);
    await sleep(300);
    expect(events.filter((e) => e.type === 'editMessage').map((e) => e.message.content)).toEqual(['E', 'E2']);
    expect(await rowOf(m.id)).toMatchObject({ content: 'E2', edited_at: expect.any(Date), deleted_at: null });
  });
});
