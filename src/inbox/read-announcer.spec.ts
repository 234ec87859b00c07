import { ReadAnnouncer } from './read-announcer';

describe('ReadAnnouncer', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('sends the first mark at once, then the newest of each window, and nothing for a quiet window', () => {
    const sent: string[] = [];
    const reads = new ReadAnnouncer((room, user, seq) => sent.push(`${room}:${user}:${seq}`), 250);
    reads.announce(1, 7, 3);
    expect(sent).toEqual(['1:7:3']);
    for (let seq = 4; seq <= 40; seq++) reads.announce(1, 7, seq);
    reads.announce(2, 7, 9); // another room: its own window
    reads.announce(1, 8, 5); // another member: their own
    expect(sent).toEqual(['1:7:3', '2:7:9', '1:8:5']);
    jest.advanceTimersByTime(250);
    expect(sent).toEqual(['1:7:3', '2:7:9', '1:8:5', '1:7:40']);
    reads.announce(1, 7, 41); // within the window the last event opened
    jest.advanceTimersByTime(250);
    expect(sent.at(-1)).toBe('1:7:41');
    jest.advanceTimersByTime(250); // quiet: the window closes without an event
    expect(sent).toHaveLength(5);
    reads.announce(1, 7, 42); // and the next mark goes out at once
    expect(sent.at(-1)).toBe('1:7:42');
  });
});
