import { getQueueToken } from '@nestjs/bullmq';
import type { Queue } from 'bullmq';
import type { QueuedMessage } from '../src/chat-history/message.types';
import { PendingMessageStore } from '../src/chat-history/pending-message.store';
import { persistJobOf, persistJobOptions } from '../src/chat-history/persist-job';
import { uuidv7 } from '../src/chat-history/uuidv7';
import { Jobs, Queues } from '../src/common/constants';
import { eventually, resetState, sql, startApp, TestApp } from './utils/app';
import { sleep } from './utils/sockets';
import { createRoom, createUser } from './utils/users';

const stored = async (id: string) => (await sql('SELECT 1 FROM messages WHERE id = $1', [id])).length === 1;

/**
 * The sweeper re-queues acked messages that no job will store (here: in the pending buffer,
 * never queued, as when a server dies between the two), whatever state other jobs are in.
 * It used to stay off while any job was waiting, delayed or active.
 */
describe('pending sweeper (e2e)', () => {
  let t: TestApp;

  beforeAll(async () => {
    await resetState();
    t = await startApp(); // with its worker
  });
  afterAll(async () => {
    await t?.close();
  });

  it('stores orphans while another job is delayed, and leaves alone what a live job holds', async () => {
    const alice = await createUser(t, 'sw');
    const room = await createRoom(t, alice);
    const pending = t.app.get(PendingMessageStore);
    const queue = t.app.get<Queue>(getQueueToken(Queues.MessagePersist));
    await pending.seedSeq(room, 0);
    const longAgo = new Date(Date.now() - 60_000).toISOString();
    const append = async (content: string): Promise<QueuedMessage> => {
      const r = await pending.append({
        id: uuidv7(),
        chatroomId: room,
        senderId: alice.id,
        sender: { id: alice.id, username: alice.username, nickName: '', headPic: '' },
        type: 'text',
        content,
        createdAt: longAgo,
      });
      if (r.status !== 'new') throw new Error(r.status);
      return r.message;
    };
    // A stale message that a delayed job holds (a retry waiting out its backoff), and an orphan.
    const held = await append('held by a delayed job');
    const delayed = await queue.add(Jobs.PersistBatch, persistJobOf([held]), {
      ...persistJobOptions,
      delay: 3_600_000,
    });
    const orphan = await append('orphan');

    await eventually(() => stored(orphan.id), 10_000, 'the orphan stored by the sweeper');
    await sleep(2_500); // at least one more sweep
    expect(await stored(held.id)).toBe(false); // a live job holds it: not re-queued
    expect(await queue.getJobCounts('waiting', 'active', 'delayed')).toEqual({ waiting: 0, active: 0, delayed: 1 });

    await delayed.promote();
    await eventually(() => stored(held.id), 10_000, 'the held message stored by its job');
    const seqs = await sql<{ seq: number }>('SELECT seq FROM messages WHERE chatroom_id = $1 ORDER BY seq', [room]);
    expect(seqs.map((r) => r.seq)).toEqual([1, 2]);
    await eventually(async () => (await pending.range(room, 0, Infinity)).length === 0, 5_000, 'an empty buffer');
  });
});
