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

/** A table that refuses NUL the way PostgreSQL does: the whole statement fails with 22021. */
function fakeTable(failWith?: () => Error) {
  const stored = new Map<string, QueuedMessage>();
  const statements: number[] = [];
  const repo = {
    insertBatch: jest.fn((batch: QueuedMessage[]) => {
      statements.push(batch.length);
      if (failWith) return Promise.reject(failWith());
      if (batch.some((m) => m.content.includes('\u0000'))) return Promise.reject(pgError('22021'));
      const fresh = batch.filter((m) => !stored.has(m.id));
      for (const m of fresh) stored.set(m.id, m);
      return Promise.resolve(fresh.length);
    }),
    storedIds: jest.fn((ids: string[]) => Promise.resolve(new Set(ids.filter((id) => stored.has(id))))),
  };
  const dead = { record: jest.fn(() => Promise.resolve()), markTombstoned: jest.fn(() => Promise.resolve()) };
  const writer = new MessageBatchWriter(
    repo as unknown as MessageWriteRepository,
    dead as unknown as DeadLetterRepository,
  );
  (writer as unknown as { logger: { error: () => void } }).logger = { error: () => undefined };
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

  it('rethrows an outage without setting anything aside', async () => {
    const { writer, dead, statements } = fakeTable(() => pgError('57P01'));
    await expect(writer.store([msg(1), msg(2)])).rejects.toThrow('57P01');
    expect(statements).toEqual([2]);
    expect(dead.record).not.toHaveBeenCalled();
  });
});
