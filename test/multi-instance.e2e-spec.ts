import { eventually, resetState, sql } from './utils/app';
import { freePort, registerOn, ServerProcess, spawnServer, waitHealthy } from './utils/processes';
import { closeAllSockets, collect, connect, emitAck, waitFor } from './utils/sockets';

/**
 * Two server processes (as a load balancer would front) with their workers off, and the
 * worker alone in a third process (`main.js --worker`, what `npm run start:worker` runs):
 * one Redis, one database.
 */
describe('several instances (e2e)', () => {
  let a: ServerProcess, b: ServerProcess, worker: ServerProcess;

  beforeAll(async () => {
    await resetState();
    a = spawnServer({ PORT: freePort(), WORKER_ENABLED: 'false' });
    b = spawnServer({ PORT: freePort(), WORKER_ENABLED: 'false' });
    worker = spawnServer({ PORT: freePort(), LOG_LEVEL: 'log' }, ['--worker']); // its start line is checked
    await Promise.all([waitHealthy(a), waitHealthy(b)]);
  });
  afterAll(async () => {
    closeAllSockets();
    await Promise.all([a?.stop(), b?.stop(), worker?.stop()]);
  });

  it('delivers across instances in seq order, both ways', async () => {
    const alice = await registerOn(a.url, 'alice_multi');
    const bob = await registerOn(b.url, 'bob_multi');
    const room = (await alice.post('/chatrooms', { name: 'x', memberIds: [bob.id] }, alice.token)).id as number;
    const sa = await connect(a.url, alice.token);
    const sb = await connect(b.url, bob.token);
    await emitAck(sa, 'joinRoom', { chatroomId: room });
    await emitAck(sb, 'joinRoom', { chatroomId: room });
    const atBob = collect(sb, 'message');
    const atAlice = collect(sa, 'message');
    const fromAlice: any[] = [];
    for (let i = 0; i < 10; i++)
      fromAlice.push(
        (await emitAck(sa, 'sendMessage', { chatroomId: room, message: { type: 'text', content: `a${i}` } })).data,
      );
    const fromBob = (await emitAck(sb, 'sendMessage', { chatroomId: room, message: { type: 'text', content: 'b0' } }))
      .data;
    // Collected from before the sends: a broadcast may arrive before the sender's ack does.
    await eventually(() => atAlice.some((e) => e.message?.id === fromBob.id), 5000, 'alice to get bob');
    await eventually(() => atBob.filter((e) => e.type === 'sendMessage').length === 11, 5000, 'bob to get all');
    const bobSeqs = atBob.filter((e) => e.type === 'sendMessage').map((e) => e.message.seq);
    expect(bobSeqs).toEqual([...fromAlice.map((m) => m.seq), fromBob.seq]);
    expect(atAlice.some((e) => e.message?.id === fromBob.id)).toBe(true);
    // Neither server stores: the worker process does, each message once.
    const ids = [...fromAlice, fromBob].map((m) => m.id);
    const rows = await eventually(
      async () => {
        const r = await sql<{ id: string }>('SELECT id FROM messages WHERE chatroom_id = $1', [room]);
        return r.length === ids.length ? r : null;
      },
      15_000,
      'the worker process to store them',
    );
    expect(rows!.map((r) => r.id).sort()).toEqual([...ids].sort());
    expect(worker.output()).toContain('persistence worker running');
  });

  it('sends `inbox` to a member online on another instance, outside the room', async () => {
    const alice = await registerOn(a.url, 'alice_badge');
    const bob = await registerOn(b.url, 'bob_badge');
    const room = (await alice.post('/chatrooms', { name: 'badge', memberIds: [bob.id] }, alice.token)).id as number;
    const sa = await connect(a.url, alice.token);
    const sb = await connect(b.url, bob.token); // online on b, showing the room list, not the room
    const badges = collect(sb, 'inbox');
    for (let i = 0; i < 3; i++) {
      await emitAck(sa, 'sendMessage', { chatroomId: room, message: { type: 'text', content: `n${i}` } });
    }
    // a tells b of the room's activity once its window closes; b counts for its own sockets.
    await eventually(() => badges.some((e) => e.unreadCount === 3), 5000, 'bob to get a badge of 3');
    expect(badges.at(-1)).toEqual({ chatroomId: room, unreadCount: 3, totalUnread: 3, version: expect.any(Number) });
  });

  it("follows the room's members for `inbox` across instances: added on one, removed on one", async () => {
    const alice = await registerOn(a.url, 'alice_members');
    const bob = await registerOn(b.url, 'bob_members');
    const carol = await registerOn(b.url, 'carol_members');
    const room = (await alice.post('/chatrooms', { name: 'm', memberIds: [bob.id] }, alice.token)).id as number;
    const sa = await connect(a.url, alice.token);
    const sb = await connect(b.url, bob.token);
    const sc = await connect(b.url, carol.token); // online on b, not yet a member
    const atBob = collect(sb, 'inbox');
    const atCarol = collect(sc, 'inbox');
    const say = (content: string) =>
      emitAck(sa, 'sendMessage', { chatroomId: room, message: { type: 'text', content } });
    // b reads the room's members for bob's badge, and keeps the list.
    await say('before');
    await eventually(() => atBob.length > 0, 5000, 'bob to get a badge');
    // Added through a: b must count carol in at once, not when its copy of the list ages out.
    await alice.post(`/chatrooms/${room}/members`, { userIds: [carol.id] }, alice.token);
    await say('after the add');
    await eventually(() => atCarol.some((e) => e.chatroomId === room), 5000, 'carol to get a badge');
    // Removed through a: b stops telling bob about the room.
    const removed = await fetch(`${a.url}/chatrooms/${room}/members/${bob.id}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${alice.token}` },
    });
    expect(removed.status).toBe(204);
    const bobBefore = atBob.length;
    const carolBefore = atCarol.length;
    await say('after the removal');
    await eventually(() => atCarol.length > carolBefore, 5000, 'carol to get the next badge');
    await new Promise((r) => setTimeout(r, 500));
    expect(atBob.length).toBe(bobBefore);
  });

  it('announces presence across instances and shows it in the room', async () => {
    const alice = await registerOn(a.url, 'alice_presence');
    const bob = await registerOn(b.url, 'bob_presence');
    const room = (await alice.post('/chatrooms', { name: 'p', memberIds: [bob.id] }, alice.token)).id as number;
    const sa = await connect(a.url, alice.token);
    await emitAck(sa, 'joinRoom', { chatroomId: room });
    const online = waitFor(sa, 'presence', (p: any) => p.userId === bob.id && p.online);
    const sb = await connect(b.url, bob.token);
    expect(await online).toEqual({ userId: bob.id, online: true });
    const detail = await fetch(`${a.url}/chatrooms/${room}`, { headers: { authorization: `Bearer ${alice.token}` } });
    const members = ((await detail.json()) as any).members;
    expect(members.find((m: any) => m.user.id === bob.id).online).toBe(true);
    const offline = waitFor(sa, 'presence', (p: any) => p.userId === bob.id && !p.online);
    sb.disconnect();
    expect(await offline).toEqual({ userId: bob.id, online: false });
  });
});
