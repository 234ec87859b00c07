import type { AuthUser } from '../auth/auth.types';
import type { QueuedMessage } from '../chat-history/message.types';
import type { AppendResult } from '../chat-history/pending-message.store';
import { AppError } from '../common/errors';
import { ChatService, syncBudgets } from './chat.service';
import type { SendMessageDto } from './dto/chat-events.dto';

type Draft = Omit<QueuedMessage, 'seq'>;

/**
 * The broadcast order of sends whose appends come back in one turn. Replies of one Redis
 * connection arrive in seq order and resolve in that order in one tick; what the service
 * does after the reply decides the order the room sees.
 */
describe('ChatService order of events', () => {
  let appends: { draft: Draft; resolve: (r: AppendResult) => void }[];
  let broadcast: number[];
  let chat: ChatService;
  let seq: number;
  let steps: string[];
  let liveSeqFails: boolean;

  const user = (id: number): AuthUser => ({ id, username: `u${id}`, role: 'user' });
  const dto = (content: string): SendMessageDto => ({ chatroomId: 1, message: { type: 'text', content } });
  const step = (name: string) => () => {
    steps.push(name);
    return Promise.resolve();
  };
  const flush = async () => {
    for (let i = 0; i < 50; i++) await Promise.resolve();
  };
  /** Answers the appends asked so far, in the order asked, in one tick (one pipeline reply). */
  const reply = () => {
    for (const { draft, resolve } of appends.splice(0)) resolve({ status: 'new', message: { ...draft, seq: ++seq } });
  };

  beforeEach(() => {
    appends = [];
    broadcast = [];
    seq = 0;
    steps = [];
    liveSeqFails = false;
    const pending = {
      append: (draft: Draft) => new Promise<AppendResult>((resolve) => appends.push({ draft, resolve })),
      lastSeqs: (rooms: number[]) => {
        steps.push('live seq read');
        if (liveSeqFails) return Promise.reject(new Error('Connection is closed.'));
        return Promise.resolve(rooms.map(() => 7));
      },
    };
    chat = new ChatService(
      { sendRatePerSec: 1000, sendBurst: 1000, messageMaxLength: 4000 } as never,
      {
        requireCached: () => Promise.resolve({ readSeq: 0 }),
        require: () => Promise.resolve({ readSeq: 3 }),
        mark: () => 0,
        evictedSince: () => false,
      } as never,
      pending as never,
      { queue: () => undefined } as never,
      {} as never,
      { get: (id: number) => Promise.resolve({ id, username: `u${id}` }) } as never,
      {
        toRoom: (_room: number, _event: string, e: { message: { seq: number } }) => broadcast.push(e.message.seq),
      } as never,
      { touched: () => undefined } as never,
      { rateLimited: () => undefined, messageSent: () => undefined, messageAcked: () => undefined } as never,
    );
  });

  it("broadcasts in seq order when one user's next send and another's first share a reply", async () => {
    const alice = user(1);
    const bob = user(2);
    const sends = [chat.send(alice, dto('a1')), chat.send(alice, dto('a2'))];
    await flush();
    reply(); // a1 gets seq 1; a2, which waited for it, appends next
    await flush();
    sends.push(chat.send(bob, dto('b1'))); // bob's first send: nothing of his to wait for
    await flush();
    expect(appends.map((a) => a.draft.content)).toEqual(['a2', 'b1']);
    reply(); // a2 gets seq 2, b1 seq 3, in one tick
    const acks = await Promise.all(sends);
    expect(acks.map((m) => m.seq)).toEqual([1, 2, 3]);
    expect(broadcast).toEqual([1, 2, 3]);
  });

  it("reads a joining socket's live seq only once the socket is in the room's broadcast", async () => {
    const joined = await chat.join(user(1), 1, undefined, {
      enter: async () => {
        await Promise.resolve();
        steps.push('entered');
      },
      undo: step('undone'),
    });
    expect(steps).toEqual(['entered', 'live seq read']);
    expect(joined).toEqual({ chatroomId: 1, lastSeq: 7, readSeq: 3 });
  });

  it('takes a socket back out of the broadcast when its live seq cannot be read', async () => {
    liveSeqFails = true;
    const joining = chat.join(user(1), 1, undefined, {
      enter: step('entered'),
      undo: step('undone'),
    });
    await expect(joining).rejects.toThrow('Connection is closed.');
    expect(steps).toEqual(['entered', 'live seq read', 'undone']);
  });
});

describe('syncBudgets', () => {
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

  it('gives every room what it wants when that fits', () => {
    expect(syncBudgets([10, 0, 200], 500)).toEqual([10, 0, 200]);
  });

  it('shares the total equally among rooms that want more, passing on what small ones leave', () => {
    expect(syncBudgets([300, 300, 300], 500)).toEqual([167, 167, 166]);
    expect(syncBudgets([10, 500, 500], 500)).toEqual([10, 245, 245]);
  });

  it('never goes past the total, and gives each of 100 rooms that want any at least one', () => {
    const budgets = syncBudgets(
      Array.from({ length: 100 }, (_, i) => (i % 7 === 0 ? 0 : 500)),
      500,
    );
    expect(sum(budgets)).toBe(500);
    budgets.forEach((b, i) => expect(b > 0).toBe(i % 7 !== 0));
  });
});

/**
 * A removed sender whose membership this instance still caches: the append script refuses
 * the message, and the send is answered as a non-member's, the cached answer dropped.
 */
describe('ChatService: a send refused for a recent removal', () => {
  it('throws NOT_FOUND as requireCached does for a non-member, and drops the cached answer', async () => {
    const evicted: [number | undefined, number][] = [];
    const chat = new ChatService(
      { sendRatePerSec: 1000, sendBurst: 1000, messageMaxLength: 4000 } as never,
      {
        requireCached: () => Promise.resolve(),
        evict: (userId: number | undefined, chatroomId: number) => evicted.push([userId, chatroomId]),
      } as never,
      { append: () => Promise.resolve<AppendResult>({ status: 'removed' }) } as never,
      { queue: () => undefined } as never,
      {} as never,
      { get: (id: number) => Promise.resolve({ id, username: `u${id}` }) } as never,
      { toRoom: () => undefined } as never,
      { touched: () => undefined } as never,
      { rateLimited: () => undefined, messageSent: () => undefined, messageAcked: () => undefined } as never,
    );
    const sent = chat.send(
      { id: 5, username: 'u5', role: 'user' },
      { chatroomId: 9, message: { type: 'text', content: 'x' } },
    );
    const refusal = AppError.notFound('Chatroom');
    await expect(sent).rejects.toMatchObject({ code: refusal.code, message: refusal.message });
    await expect(sent).rejects.toBeInstanceOf(AppError);
    expect(evicted).toEqual([[5, 9]]);
  });
});
