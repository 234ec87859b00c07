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
