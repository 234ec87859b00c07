import { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { getQueueToken } from '@nestjs/bullmq';
import type { Queue } from 'bullmq';
import { AppModule } from '../src/app.module';
import { ChatHistoryService } from '../src/chat-history/chat-history.service';
import { MessagePersistProcessor } from '../src/chat-history/message-persist.processor';
import type { QueuedMessage } from '../src/chat-history/message.types';
import { PendingMessageStore } from '../src/chat-history/pending-message.store';
import { runsOf } from '../src/chat-history/persist-job';
import { uuidv7 } from '../src/chat-history/uuidv7';
import { Queues } from '../src/common/constants';
import { loadConfig } from '../src/config/load-config';
import { testEnv } from './setup/test-env';
import { eventually, resetState, sql, startApp, TestApp } from './utils/app';
import { closeAllSockets, connect, emitAck } from './utils/sockets';
import { auth, createRoom, createUser, TestUser } from './utils/users';

function startWorker(): Promise<INestApplicationContext> {
  const config = loadConfig(testEnv({ HTTP_ENABLED: 'false', WORKER_ENABLED: 'true' }));
  return NestFactory.createApplicationContext(AppModule.forRoot(config), { logger: false });
}

/**
 * A message PostgreSQL refuses (NUL in text: 22P05 through the batch's JSON) must not keep the rest of its batch
 * out. The poison is put in below the edge validation, the way the send path does it
 * (pending buffer, then the queue), so this holds whatever the edge lets through.
 */
describe('dead letters (e2e)', () => {
  let t: TestApp;
  let worker: INestApplicationContext | undefined;
  let users: TestUser[];
  let rooms: number[];

  beforeAll(async () => {
    await resetState();
    await sql('TRUNCATE dead_letters');
    t = await startApp({ WORKER_ENABLED: 'false', SEND_BURST: '200', SEND_RATE_PER_SEC: '200' });
    users = await Promise.all([0, 1, 2, 3].map((i) => createUser(t, `dl${i}`)));
    rooms = await Promise.all([0, 1, 2].map((i) => createRoom(t, users[i], users)));
  });
  afterAll(async () => {
    closeAllSockets();
    await worker?.close();
    await t?.close();
  });

  it('stores every other message of a busy batch, dead-letters the bad one and shows it in /health', async () => {
    const pending = t.app.get(PendingMessageStore);
    const history = t.app.get(ChatHistoryService);
    const sender = { id: 0, username: 'x', nickName: '', headPic: '' };
    // 60 messages of four users in three rooms and, in the middle, the poison: one batch.
    const drafts = Array.from({ length: 61 }, (_, i) => {
      const u = users[i % 4];
      return {
        id: uuidv7(),
        chatroomId: rooms[i % 3],
        senderId: u.id,
        sender: { ...sender, id: u.id, username: u.username },
        type: 'text' as const,
        content: i === 30 ? 'a\u0000b' : `busy ${i}`,
        clientMsgId: `dl-${i}`,
        createdAt: new Date().toISOString(),
      };
    });
    for (const room of rooms) await pending.seedSeq(room, 0);
    const queued: QueuedMessage[] = [];
    for (const d of drafts) {
      const r = await pending.append(d);
      if (r.status !== 'new') throw new Error(`append: ${r.status}`);
      queued.push(r.message);
    }
    queued.forEach((m) => history.queue(m));
    const queue = t.app.get<Queue>(getQueueToken(Queues.MessagePersist));
    await eventually(async () => (await queue.getJobs(['waiting'])).length > 0, 5_000, 'the job');
    const jobs = await queue.getJobs(['waiting']);
    expect(jobs.map((j) => runsOf(j.data).reduce((n, [, from, to]) => n + to - from + 1, 0))).toEqual([61]);
    const poison = queued[30];

    // A user sending normally right after, in the poisoned room: stored too.
    const s = await connect(t.url, users[1].token);
    const later = await emitAck(s, 'sendMessage', {
      chatroomId: poison.chatroomId,
      clientMsgId: 'after-poison',
      message: { type: 'text', content: 'after the poison' },
    });
    expect(later.ok).toBe(true);

    // Every attempt, from before the worker exists: jobs have effectively unbounded
    // attempts, so a job that failed once is back in the queue, never in "failed".
    const attempts = jest.spyOn(MessagePersistProcessor.prototype, 'process');
    worker = await startWorker();
    const good = [...queued.filter((m) => m.id !== poison.id).map((m) => m.id), later.data.id as string];
    await eventually(
      async () =>
        (await sql<{ n: number }>('SELECT count(*)::int AS n FROM messages WHERE id = ANY($1::uuid[])', [good]))[0]
          .n === good.length,
      10_000,
      'every good message stored',
    );
    const [dl] = await eventually(() => sql<any>('SELECT * FROM dead_letters'), 5_000, 'the dead letter');
    expect(dl).toMatchObject({
      message_id: poison.id,
      chatroom_id: poison.chatroomId,
      seq: poison.seq,
      sender_id: poison.senderId,
      error_code: '22P05',
      tombstoned: true,
    });
    // The payload keeps the refused content, NUL escaped.
    expect(JSON.parse(dl.payload)).toMatchObject({ id: poison.id, content: 'a\u0000b' });

    // History of the poisoned room: no hole; the poisoned seq is a tombstone.
    const page = await t.http().get(`/chatrooms/${poison.chatroomId}/messages?limit=100`).set(auth(users[0]));
    const seqs = page.body.items.map((m: any) => m.seq).reverse();
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i + 1));
    expect(page.body.items.find((m: any) => m.seq === poison.seq)).toMatchObject({
      id: poison.id,
      deleted: true,
      content: '',
    });

    // Nothing left behind: no pending entry, no retrying job; /health counts it. Rows are
    // visible before their job drops its pending entries and completes: wait for that.
    await eventually(
      async () => {
        for (const room of rooms) if ((await pending.range(room, 0, Infinity)).length) return false;
        const counts = await queue.getJobCounts('waiting', 'active', 'delayed');
        return counts.waiting + counts.active + counts.delayed === 0;
      },
      10_000,
      'the queue to settle',
    );
    for (const room of rooms) expect(await pending.range(room, 0, Infinity)).toEqual([]);
    const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'failed');
    expect(counts).toEqual({ waiting: 0, active: 0, delayed: 0, failed: 0 });
    // The poison was set aside inside the job's first attempt, not by failing the job.
    // (The later send, and any sweeper re-queue, are jobs of their own.)
    const outcomes = await Promise.allSettled(attempts.mock.results.map((r) => r.value as Promise<number>));
    expect(outcomes.length).toBeGreaterThan(0);
    expect(outcomes.filter((o) => o.status === 'rejected')).toEqual([]);
    attempts.mockRestore();
    const health = await t.http().get('/health');
    expect(health.status).toBe(200);
    expect(health.body).toMatchObject({ status: 'ok', deadLetters: 1 });
  });
});
