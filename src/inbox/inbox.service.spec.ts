import type { AuthUser } from '../auth/auth.types';
import type { Broadcaster } from '../chat/broadcaster.service';
import type { ChatHistoryService } from '../chat-history/chat-history.service';
import type { QueuedMessage } from '../chat-history/message.types';
import type { PendingMessageStore } from '../chat-history/pending-message.store';
import type { MembershipService } from '../chatrooms/membership.service';
import type { InboxVersions } from './inbox-versions';
import type { InboxRepository } from './inbox.repository';
import { InboxService } from './inbox.service';
import type { ReadStateService } from './read-state.service';
import type { ThrottleService } from '../auth/throttle.service';

const bob = { id: 2 } as AuthUser;
const fromAlice: QueuedMessage = {
  id: '0190a0b0-0000-7000-8000-000000000001',
  chatroomId: 5,
  seq: 3,
  senderId: 1,
  sender: { id: 1, username: 'alice', nickName: 'Alice', headPic: '' },
  type: 'text',
  content: 'hi',
  createdAt: '2026-12-01T10:00:00.000Z',
};

describe('InboxService.messages', () => {
  it('lists a message the worker stores between its reads of the buffers and the table', async () => {
    // The worker commits the row and drops the pending entry right after the first read.
    const state = { stored: false, buffered: true };
    const answer =
      <T>(now: () => T) =>
      () => {
        const value = now();
        Object.assign(state, { stored: true, buffered: false });
        return Promise.resolve(value);
      };
    const pending = { ofRooms: jest.fn(answer(() => [state.buffered ? [fromAlice] : []])) };
    const row = { ...fromAlice, clientMsgId: null, createdAt: new Date(fromAlice.createdAt), editedAt: null };
    const repo = {
      page: jest.fn(
        answer(() => ({ rows: state.stored ? [{ ...row, deletedAt: null, read: false }] : [], cut: false })),
      ),
    };
    const readState = {
      positions: jest.fn().mockResolvedValue([{ chatroomId: 5, readSeq: 0 }]),
      marksOf: jest.fn().mockResolvedValue({ hidden: new Set(), read: new Set() }),
    };
    const throttle = { chargeRoomList: jest.fn().mockResolvedValue(undefined) };
    const inbox = new InboxService(
      readState as unknown as ReadStateService,
      repo as unknown as InboxRepository,
      {} as ChatHistoryService,
      pending as unknown as PendingMessageStore,
      {} as MembershipService,
      {} as Broadcaster,
      throttle as unknown as ThrottleService,
      {} as InboxVersions,
    );
    const page = await inbox.messages(bob, { limit: 50 });
    expect(page.items.map((m) => m.id)).toEqual([fromAlice.id]);
    expect(throttle.chargeRoomList).toHaveBeenCalledWith(bob.id, 1);
  });
});

describe('InboxService.markRead', () => {
  it('answers NOT_FOUND when the reader leaves the room between the mark and the recount', async () => {
    // A probe: the room's owner removed bob while his markRead ran; the recount read his rooms
    // again without this one, and the ack was INTERNAL ("reading 'readSeq' of undefined").
    const readState = {
      advance: jest.fn().mockResolvedValue({ advanced: true, readSeq: 3, positions: [{ chatroomId: 5, readSeq: 3 }] }),
      positions: jest.fn().mockResolvedValue([]),
      unread: jest.fn().mockResolvedValue([]),
    };
    const inbox = new InboxService(
      readState as unknown as ReadStateService,
      {} as InboxRepository,
      {} as ChatHistoryService,
      { lastSeqs: jest.fn().mockResolvedValue([3]) } as unknown as PendingMessageStore,
      {} as MembershipService,
      { toRoom: jest.fn(), toUser: jest.fn() } as unknown as Broadcaster,
      {} as ThrottleService,
      { take: jest.fn().mockResolvedValue(7) } as unknown as InboxVersions,
    );
    await expect(inbox.markRead(bob, 5, 3)).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });
});
