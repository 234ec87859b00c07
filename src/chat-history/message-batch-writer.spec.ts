import { DeadLetterRepository } from './dead-letter.repository';
import { MessageBatchWriter } from './message-batch-writer';
import { MessageWriteRepository } from './message-write.repository';
import type { QueuedMessage } from './message.types';
import { classifyPersistError, storableText } from './persist-errors';

const pgError = (code: string, message = `pg ${code}`) => Object.assign(new Error(message), { code });

const msg = (seq: number, content = `m${seq}`): QueuedMessage => ({
  id: `00000000-0000-7000-8000-${String(seq).padStart(12, '0')}`,
  chatroomId: 1 + (seq % 3),
  seq,
  senderId: 1,
  sender: { id: 1, username: 'u', nickName: '', headPic: '' },
  type: 'text',
  content,
  createdAt: new Date(0).toISOString(),
});

/** The unique keys of a row besides its id: (room, seq) and (room, sender, clientMsgId). */
const uniqueKeys = (m: QueuedMessage) => [
  `seq:${m.chatroomId}:${m.seq}`,
  ...(m.clientMsgId ? [`cmid:${m.chatroomId}:${m.senderId}:${m.clientMsgId}`] : []),
];

/**
 * A table that refuses NUL the way PostgreSQL does (the whole statement fails with 22021)
 * and skips, as ON CONFLICT DO NOTHING does, rows whose id or unique keys are taken, also
 * by an earlier row of the same statement.
 */
function fakeTable(failWith?: () => Error) {
  const stored = new Map<string, QueuedMessage>();
  const taken = new Set<string>();
  const statements: number[] = [];
  const repo = {
    insertBatch: jest.fn((batch: QueuedMessage[]) => {
      statements.push(batch.length);
      if (failWith) return Promise.reject(failWith());
      if (batch.some((m) => m.content.includes('\u0000'))) return Promise.reject(pgError('22021'));
      let inserted = 0;
      for (const m of batch) {
        if (stored.has(m.id) || uniqueKeys(m).some((k) => taken.has(k))) continue;
        stored.set(m.id, m);
        uniqueKeys(m).forEach((k) => taken.add(k));
        inserted++;
      }
      return Promise.resolve(inserted);
    }),
    storedIds: jest.fn((ids: string[]) => Promise.resolve(new Set(ids.filter((id) => stored.has(id))))),
  };
  const dead = { record: jest.fn(() => Promise.resolve()), markTombstoned: jest.fn(() => Promise.resolve()) };
  const writer = new MessageBatchWriter(
    repo as unknown as MessageWriteRepository,
    dead as unknown as DeadLetterRepository,
  );
  (writer as unknown as { logger: { error: () => void; warn: () => void } }).logger = {
    error: () => undefined,
    warn: () => undefined,
  };
  return { writer, stored, statements, dead };
}

describe('classifyPersistError', () => {
  it.each([
    ['22021', 'data'],
    ['22001', 'data'],
    ['23503', 'data'],
    ['23514', 'data'],
    ['54000', 'data'],
    ['57P01', 'transient'],
    ['53300', 'transient'],
    ['40001', 'transient'],
    ['40P01', 'transient'],
    ['55P03', 'transient'],
    ['25006', 'transient'],
    ['08006', 'transient'],
  ])('%s is %s', (code, kind) => expect(classifyPersistError(pgError(code))).toBe(kind));

  it('treats network errors and the unknown as transient, and reads codes through the Prisma adapter', () => {
    expect(classifyPersistError(Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }))).toBe('transient');
    expect(classifyPersistError(new Error('Connection terminated unexpectedly'))).toBe('transient');
    expect(classifyPersistError({ cause: { originalCode: '22P02' } })).toBe('data');
    expect(classifyPersistError({ meta: { driverAdapterError: { cause: { originalCode: '23502' } } } })).toBe('data');
  });

  it('makes error texts storable', () => {
    expect(storableText('a\u0000b\uD800')).toBe('a\\u0000b\uFFFD');
  });
});

describe('MessageBatchWriter', () => {
  it('stores a clean batch in one statement', async () => {
    const { writer, stored, statements } = fakeTable();
    expect(await writer.store([1, 2, 3].map((s) => msg(s)))).toEqual([]);
    expect(stored.size).toBe(3);
    expect(statements).toEqual([3]);
  });

  it('stores every good row around poisoned ones and sets those aside with tombstones', async () => {
    const { writer, stored, dead } = fakeTable();
    const batch = Array.from({ length: 64 }, (_, i) => msg(i + 1, i === 9 || i === 40 ? 'x\u0000' : `m${i}`));
    const refused = await writer.store(batch);
    expect(refused.map((r) => [r.message.seq, r.code])).toEqual([
      [10, '22021'],
      [41, '22021'],
    ]);
    // 62 originals, 2 tombstones at the refused seqs.
    expect(stored.size).toBe(64);
    expect(stored.get(batch[9].id)).toMatchObject({ seq: 10, content: '', deletedAt: expect.any(String) });
    expect(stored.get(batch[9].id)!.clientMsgId).toBeUndefined();
    expect(dead.record).toHaveBeenCalledWith(refused);
    expect(dead.markTombstoned).toHaveBeenCalledWith([batch[9].id, batch[40].id]);
  });

  it('refuses a row skipped by ON CONFLICT that clashes with a different message', async () => {
    const { writer, stored } = fakeTable();
    const clash = msg(2);
    // Skipped by ON CONFLICT, and not stored under its own id: another message holds its key.
    (writer as unknown as { repo: { insertBatch: jest.Mock } }).repo.insertBatch.mockResolvedValueOnce(0);
    const refused = await writer.store([clash]);
    expect(refused).toEqual([expect.objectContaining({ code: '23505', message: clash })]);
    expect(stored.get(clash.id)).toMatchObject({ content: '', deletedAt: expect.any(String) });
  });

  it('stores a resend the dedupe record no longer knew (a clientMsgId clash) without its clientMsgId', async () => {
    const { writer, stored, dead } = fakeTable();
    const first = { ...msg(1, 'first'), clientMsgId: 'dup1' };
    const resend = { ...msg(4, 'second'), clientMsgId: 'dup1' }; // same room (1 + seq % 3), new id and seq
    expect(await writer.store([first])).toEqual([]);
    expect(await writer.store([resend, msg(7)])).toEqual([]);
    expect(stored.get(first.id)).toEqual(first);
    expect(stored.get(resend.id)).toEqual({ ...resend, clientMsgId: undefined });
    expect(stored.get(resend.id)).not.toHaveProperty('clientMsgId');
    expect(stored.get(msg(7).id)).toEqual(msg(7));
    // A retried batch stays idempotent: stored under its id already, nothing refused, nothing added.
    expect(await writer.store([resend])).toEqual([]);
    expect(stored.size).toBe(3);
    expect(dead.record).not.toHaveBeenCalled();
  });

  it('stores both when the first and the resend are in one batch', async () => {
    const { writer, stored } = fakeTable();
    const first = { ...msg(1, 'first'), clientMsgId: 'dup2' };
    const resend = { ...msg(4, 'second'), clientMsgId: 'dup2' };
    expect(await writer.store([first, resend])).toEqual([]);
    expect(stored.get(first.id)?.clientMsgId).toBe('dup2');
    expect(stored.get(resend.id)).toMatchObject({ content: 'second' });
    expect(stored.get(resend.id)).not.toHaveProperty('clientMsgId');
  });

  it('still refuses a clientMsgId resend that also clashes on seq, and records it as it was sent', async () => {
    const { writer, stored, dead } = fakeTable();
    const holder = { ...msg(4, 'holder'), id: '00000000-0000-7000-8000-00000000aaaa' };
    const first = { ...msg(1, 'first'), clientMsgId: 'dup3' };
    await writer.store([holder, first]);
    const clashBoth = { ...msg(4, 'both'), clientMsgId: 'dup3' };
    const refused = await writer.store([clashBoth]);
    expect(refused).toEqual([expect.objectContaining({ code: '23505', message: clashBoth })]);
    expect(dead.record).toHaveBeenCalledWith(refused);
    expect(stored.get(clashBoth.id)).toBeUndefined(); // its seq is taken: the tombstone cannot go in either
  });

  it('rethrows an outage without setting anything aside', async () => {
    const { writer, dead, statements } = fakeTable(() => pgError('57P01'));
    await expect(writer.store([msg(1), msg(2)])).rejects.toThrow('57P01');
    expect(statements).toEqual([2]);
    expect(dead.record).not.toHaveBeenCalled();
  });
});
