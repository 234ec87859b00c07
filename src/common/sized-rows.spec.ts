import { queuedWithin, sizedRows } from './sized-rows';

const row = (id: string, read: number) => ({ id, bytes_before: 0n, rows_read: BigInt(read) });

describe('sizedRows', () => {
  it('takes the size columns off, and says cut when PostgreSQL left rows out', () => {
    expect(sizedRows([row('c', 3), row('b', 3)])).toEqual({ rows: [{ id: 'c' }, { id: 'b' }], cut: true });
    expect(sizedRows([row('c', 2), row('b', 2)])).toEqual({ rows: [{ id: 'c' }, { id: 'b' }], cut: false });
    expect(sizedRows([])).toEqual({ rows: [], cut: false });
  });
});

describe('queuedWithin', () => {
  const queued = [{ id: 'e' }, { id: 'b' }, { id: 'a' }];

  it('keeps every queued message when the read was not cut', () => {
    expect(queuedWithin(queued, { rows: [{ id: 'd' }, { id: 'c' }], cut: false })).toEqual(queued);
  });

  it('keeps only those newer than the last row of a cut read: the next page, from its id, lists the rest', () => {
    expect(queuedWithin(queued, { rows: [{ id: 'd' }, { id: 'c' }], cut: true })).toEqual([{ id: 'e' }]);
  });
});
