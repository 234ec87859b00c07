import { IdentityService } from '../src/auth/identity.service';
import { MessageRepository } from '../src/chat-history/message.repository';
import { MembershipService } from '../src/chatrooms/membership.service';
import { PrismaService } from '../src/prisma/prisma.service';
import { resetState, startApp, TestApp } from './utils/app';
import { closeAllSockets, connect, emitAck } from './utils/sockets';
import { createRoom, createUser, TestUser } from './utils/users';

/**
 * What a reconnect costs the database. After a restart every socket comes back at once:
 * handshake (the live user), joinRoom (the membership) and sync. The lookups of one
 * event-loop turn share one statement, and a sync that is already up to date reads no
 * history at all.
 */
describe('the reconnect path (e2e)', () => {
  let t: TestApp;
  let users: TestUser[];
  let room: number;

  beforeAll(async () => {
    await resetState();
    const setup = await startApp();
    users = await Promise.all(Array.from({ length: 12 }, (_, i) => createUser(setup, `rc${i}`)));
    room = await createRoom(setup, users[0], users.slice(1));
    await setup.close();
    // A fresh process: every cache is cold, as after a restart.
    t = await startApp();
  });
  afterEach(() => {
    closeAllSockets();
    jest.restoreAllMocks();
  });
  afterAll(() => t.close());

  it('membership lookups of one turn are one statement, each answered right', async () => {
    const membership = t.app.get(MembershipService);
    const query = jest.spyOn(t.app.get(PrismaService).pool, 'query');
    const outsider = 2_000_000_000;
    const answers = await Promise.all([
      ...users.map((u) => membership.get(u.id, room)),
      membership.get(outsider, room),
      membership.get(users[0].id, room + 1_000_000),
    ]);
    const batches = query.mock.calls.filter(([q]) => (q as { name?: string }).name === 'membership.of');
    expect(batches).toHaveLength(1);
    expect(answers.slice(0, users.length)).toEqual(
      users.map((_, i) => ({ role: i === 0 ? 'owner' : 'member', readSeq: 0 })),
    );
    expect(answers.slice(users.length)).toEqual([null, null]);
  });

  it('live-user lookups of one turn are one query; unknown ids are null', async () => {
    const identity = t.app.get(IdentityService);
    const load = jest.spyOn(identity as unknown as { loadUsers: (ids: number[]) => unknown }, 'loadUsers');
    const found = await Promise.all([
      ...users.map((u) => identity.user(u.id, true)),
      identity.user(2_000_000_000, true),
    ]);
    expect(load).toHaveBeenCalledTimes(1);
    expect(found.slice(0, users.length).map((u) => u?.id)).toEqual(users.map((u) => u.id));
    expect(found.at(-1)).toBeNull();
  });

  it('every socket comes back, joins and syncs; an up-to-date sync reads no history, a behind one gets the messages', async () => {
    const sender = await connect(t.url, users[0].token);
    await emitAck(sender, 'joinRoom', { chatroomId: room });
    const sent = await emitAck(sender, 'sendMessage', {
      chatroomId: room,
      message: { type: 'text', content: 'hello' },
    });
    expect(sent.ok).toBe(true);

    const pageAfter = jest.spyOn(t.app.get(MessageRepository), 'pageAfter');
    const sockets = await Promise.all(users.map((u) => connect(t.url, u.token)));
    const joins = await Promise.all(sockets.map((s) => emitAck(s, 'joinRoom', { chatroomId: room })));
    expect(joins.map((j) => j.ok)).toEqual(users.map(() => true));
    expect(joins.map((j) => j.data.lastSeq)).toEqual(users.map(() => sent.data.seq));

    const upToDate = await Promise.all(
      sockets.map((s) => emitAck(s, 'sync', { rooms: [{ chatroomId: room, afterSeq: sent.data.seq }] })),
    );
    for (const r of upToDate)
      expect(r.data.rooms).toEqual([{ chatroomId: room, messages: [], hasMore: false, lastSeq: sent.data.seq }]);
    expect(pageAfter).not.toHaveBeenCalled();

    const behind = await emitAck(sockets[1], 'sync', { rooms: [{ chatroomId: room, afterSeq: sent.data.seq - 1 }] });
    expect(behind.data.rooms[0].messages.map((m: { id: string }) => m.id)).toEqual([sent.data.id]);
    expect(pageAfter).toHaveBeenCalledTimes(1);
  });

  it("a quiet room's seq is read from the database once, then from Redis, for joins and syncs alike", async () => {
    const quiet = await createRoom(t, users[0], users.slice(1), 'quiet');
    const repo = t.app.get(MessageRepository);
    const highestSeq = jest.spyOn(repo, 'highestSeq');
    const pageAfter = jest.spyOn(repo, 'pageAfter');
    const first = await connect(t.url, users[0].token);
    expect(await emitAck(first, 'joinRoom', { chatroomId: quiet })).toMatchObject({ ok: true, data: { lastSeq: 0 } });
    expect(highestSeq).toHaveBeenCalledTimes(1);

    const others = await Promise.all(users.slice(1).map((u) => connect(t.url, u.token)));
    const joins = await Promise.all(others.map((s) => emitAck(s, 'joinRoom', { chatroomId: quiet })));
    expect(joins.map((j) => j.data.lastSeq)).toEqual(others.map(() => 0));
    const syncs = await Promise.all(
      others.map((s) => emitAck(s, 'sync', { rooms: [{ chatroomId: quiet, afterSeq: 0 }] })),
    );
    expect(syncs.map((r) => r.data.rooms[0].messages)).toEqual(others.map(() => []));
    expect(highestSeq).toHaveBeenCalledTimes(1);
    expect(pageAfter).not.toHaveBeenCalled();

    // The seeded counter continues where the stored history ends: the next send is seq 1.
    const sent = await emitAck(first, 'sendMessage', {
      chatroomId: quiet,
      message: { type: 'text', content: 'first' },
    });
    expect(sent).toMatchObject({ ok: true, data: { seq: 1 } });
  });

  it('a sync of a room the user is not in is still NOT_FOUND', async () => {
    const outsider = await createUser(t, 'rcout');
    const s = await connect(t.url, outsider.token);
    const res = await emitAck(s, 'sync', { rooms: [{ chatroomId: room, afterSeq: 0 }] });
    expect(res).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
  });
});
