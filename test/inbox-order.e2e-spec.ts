import { InboxService } from '../src/inbox/inbox.service';
import type { ReadStateService } from '../src/inbox/read-state.service';
import { eventually, resetState, startApp, TestApp } from './utils/app';
import { closeAllSockets, collect, connect, emitAck } from './utils/sockets';
import { createRoom, createUser, TestUser } from './utils/users';

/**
 * A user's `inbox` events come from whichever instance recounted, each as its recount ends,
 * so they can cross (a hostile-client probe: two devices marking read on two instances left
 * 12 of 120 badges wrong). The crossing is made deterministic here: b's mark is written
 * first and b reports only after a's later mark has answered, as when b is slower. Every
 * event carries a version, and the highest one must hold the counts that are stored.
 */
describe('inbox counts across instances (e2e, two instances)', () => {
  let a: TestApp, b: TestApp;
  let owner: TestUser, reader: TestUser;

  beforeAll(async () => {
    await resetState();
    [a, b] = await Promise.all([startApp(), startApp()]);
    [owner, reader] = await Promise.all(['inbox_owner', 'inbox_reader'].map((n) => createUser(a, n)));
  });
  afterEach(() => {
    jest.restoreAllMocks();
    closeAllSockets();
  });
  afterAll(async () => {
    await Promise.all([a?.close(), b?.close()]);
  });

  it('of two marks crossing on two instances, the highest version carries the counts stored', async () => {
    const room = await createRoom(a, owner, [reader]);
    const sender = await connect(a.url, owner.token);
    let last = 0;
    for (let i = 0; i < 3; i++) {
      const ack = await emitAck(sender, 'sendMessage', {
        chatroomId: room,
        message: { type: 'text', content: `m${i}` },
      });
      last = ack.data.seq;
    }
    const [onA, onB, watcher] = await Promise.all([a, b, a].map((app) => connect(app.url, reader.token)));
    const badges = collect(watcher, 'inbox');

    const inboxOnB = b.app.get(InboxService, { strict: false });
    const readState = (inboxOnB as unknown as { readState: ReadStateService }).readState;
    const advance = readState.advance.bind(readState);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let written!: () => void;
    const wrote = new Promise<void>((resolve) => (written = resolve));
    jest.spyOn(readState, 'advance').mockImplementationOnce(async (...args) => {
      const moved = await advance(...args);
      written();
      await gate;
      return moved;
    });
    const slow = emitAck(onB, 'markRead', { chatroomId: room, seq: last - 1 });
    await wrote; // b's mark is in; its report waits
    expect(await emitAck(onA, 'markRead', { chatroomId: room, seq: last })).toMatchObject({
      ok: true,
      data: { readSeq: last, unreadCount: 0 },
    });
    release();
    // b's answer is read after a's mark: the position stored, not the one b wrote.
    expect(await slow).toMatchObject({ ok: true, data: { readSeq: last, unreadCount: 0, totalUnread: 0 } });

    await eventually(() => badges.length === 2, 5000, 'both inbox events');
    const versions = badges.map((e) => e.version);
    expect(versions.every((v) => Number.isSafeInteger(v) && v > 0)).toBe(true);
    expect(new Set(versions).size).toBe(2);
    const newest = badges.reduce((x, y) => (y.version > x.version ? y : x));
    expect(newest).toEqual({ chatroomId: room, unreadCount: 0, totalUnread: 0, version: Math.max(...versions) });
  });
});
