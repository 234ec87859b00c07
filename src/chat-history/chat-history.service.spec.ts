import type { Queue } from 'bullmq';
import type { MembershipService } from '../chatrooms/membership.service';
import type { AppConfig } from '../config/app-config';
import { ChatHistoryService } from './chat-history.service';
import type { DeadLetterRepository } from './dead-letter.repository';
import type { MessageRepository } from './message.repository';
import type { MessageRow, QueuedMessage } from './message.types';
import type { PendingMessageStore } from './pending-message.store';
import type { PersistBatchJob } from './persist-job';

const sender = { id: 1, username: 'alice', nickName: 'Alice', headPic: '' };
const queued: QueuedMessage = {
  id: '0190a0b0-0000-7000-8000-000000000001',
  chatroomId: 5,
  seq: 3,
  senderId: 1,
  sender,
  type: 'text',
  content: 'hi',
  createdAt: '2026-12-01T10:00:00.000Z',
};
const row: MessageRow = {
  ...queued,
  clientMsgId: null,
  createdAt: new Date(queued.createdAt),
  editedAt: null,
  deletedAt: null,
};

/**
 * The persistence worker storing the message between a reader's two reads: the row is
 * committed and the pending entry dropped (in that order, as the worker does) right after
 * the first read was answered. Each fake answers from the state when it is called.
 */
function storedDuringRead() {
  const state = { stored: false, buffered: true };
  const answer =
    <T>(now: () => T) =>
    () => {
      const value = now();
      state.stored = true;
      state.buffered = false;
      return Promise.resolve(value);
    };
  const pending = {
    findByIds: jest.fn(answer(() => new Map(state.buffered ? [[queued.id, queued]] : []))),
    range: jest.fn(answer(() => (state.buffered ? [queued] : []))),
    ofRooms: jest.fn(answer(() => [state.buffered ? [queued] : []])),
  };
  const repo = {
    findByIds: jest.fn(answer(() => (state.stored ? [row] : []))),
    pageBefore: jest.fn(answer(() => ({ rows: state.stored ? [row] : [], cut: false }))),
    pageAfter: jest.fn(answer(() => ({ rows: state.stored ? [row] : [], cut: false }))),
    latestOf: jest.fn(answer(() => (state.stored ? [row] : []))),
  };
  const jobs = { on: jest.fn() } as unknown as Queue<PersistBatchJob>;
  const history = new ChatHistoryService(
    jobs,
    pending as unknown as PendingMessageStore,
    repo as unknown as MessageRepository,
    {} as MembershipService,
    {} as DeadLetterRepository,
    { persistBatchMs: 250 } as AppConfig,
  );
  return history;
}

describe('ChatHistoryService reads while the worker stores the message', () => {
  it('finds it by id', async () => {
    expect((await storedDuringRead().findMessage(queued.id))?.seq).toBe(3);
  });

  it('has it on a page before a seq and on a page after one', async () => {
    expect((await storedDuringRead().before(5, 10, 50)).items.map((m) => m.seq)).toEqual([3]);
    expect((await storedDuringRead().after(5, 0, 50)).items.map((m) => m.seq)).toEqual([3]);
  });

  it('has it as the room’s latest message', async () => {
    expect((await storedDuringRead().latest([5])).get(5)?.seq).toBe(3);
  });

  it('has it at its seq', async () => {
    expect((await storedDuringRead().atSeq(5, 3))?.id).toBe(queued.id);
  });
});
