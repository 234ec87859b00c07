import { persistJobOf, runsOf, seqRunsByRoom } from './persist-job';

describe('seqRunsByRoom', () => {
  const m = (chatroomId: number, seq: number) => ({ chatroomId, seq });

  it("turns each room's consecutive seqs into one range, and leaves gaps out", () => {
    const runs = seqRunsByRoom([m(1, 3), m(2, 7), m(1, 1), m(1, 2), m(1, 5), m(2, 8), m(1, 6), m(3, 1)]);
    expect(runs).toEqual([
      [1, 1, 3],
      [1, 5, 6],
      [2, 7, 8],
      [3, 1, 1],
    ]);
  });

  it('covers exactly the seqs given, repeats included', () => {
    const seqs = [9, 4, 4, 5, 12, 10, 11, 1];
    const runs = seqRunsByRoom(seqs.map((s) => m(1, s)));
    const covered = runs.flatMap(([, from, to]) => Array.from({ length: to - from + 1 }, (_, i) => from + i));
    expect(covered).toEqual([...new Set(seqs)].sort((a, b) => a - b));
  });
});

describe('persist jobs name places', () => {
  it('a job names its messages by room and seq runs, not by content', () => {
    const job = persistJobOf([
      { chatroomId: 4, seq: 10 },
      { chatroomId: 4, seq: 11 },
      { chatroomId: 9, seq: 2 },
    ]);
    expect(job).toEqual({
      runs: [
        [4, 10, 11],
        [9, 2, 2],
      ],
    });
    expect(runsOf(job)).toEqual(job.runs);
  });

  it('a job queued by an earlier version (the messages themselves) is read by their places', () => {
    const legacy = {
      messages: [
        { chatroomId: 3, seq: 5, content: 'as sent' },
        { chatroomId: 3, seq: 6 },
      ],
    };
    expect(runsOf(legacy)).toEqual([[3, 5, 6]]);
    expect(runsOf({})).toEqual([]);
  });
});
