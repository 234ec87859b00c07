import { RoomAnnouncer } from './room-announcer';

describe('RoomAnnouncer', () => {
  let now: number;
  let sent: string[];
  let announcer: RoomAnnouncer;

  beforeEach(() => {
    jest.useFakeTimers();
    now = 1_000_000;
    sent = [];
    announcer = new RoomAnnouncer(
      (room, stream, kind, userIds) => sent.push(`${stream}:${room}:${kind}:${userIds.join(',')}`),
      250,
      1000,
      () => now,
    );
  });

  afterEach(() => {
    announcer.stop();
    jest.useRealTimers();
  });

  const advance = (ms: number) => {
    now += ms;
    jest.advanceTimersByTime(ms);
  };
  const join = (room: number, userId: number, stream = 't') =>
    announcer.announce(room, { stream, kind: 'join', userId });

  it('announces a lone arrival at once, one event per user, as before', () => {
    join(1, 7);
    expect(sent).toEqual(['t:1:join:7']);
    advance(300); // the window closes with nothing in it: the room is quiet again
    expect(announcer.size).toBe(0);
    join(1, 8);
    expect(sent).toEqual(['t:1:join:7', 't:1:join:8']);
  });

  it('gathers the arrivals within the window into one event naming them all', () => {
    for (let u = 1; u <= 100; u++) join(1, u);
    expect(sent).toEqual(['t:1:join:1']);
    advance(250);
    expect(sent).toHaveLength(2);
    expect(sent[1]).toBe(`t:1:join:${Array.from({ length: 99 }, (_, i) => i + 2).join(',')}`);
  });

  it('keeps the order of joins and leaves, each run once per user', () => {
    join(1, 1);
    join(1, 2);
    join(1, 2);
    announcer.announce(1, { stream: 't', kind: 'leave', userId: 3 });
    join(1, 4);
    advance(250);
    expect(sent).toEqual(['t:1:join:1', 't:1:join:2', 't:1:leave:3', 't:1:join:4']);
  });

  it('lengthens the window while a room stays busy (up to the maximum) and shortens it when it calms', () => {
    join(1, 1);
    const flushes: number[] = [];
    for (let t = 0; t < 5000; t += 50) {
      join(1, 1000 + t);
      join(1, 2000 + t);
      const before = sent.length;
      advance(50);
      if (sent.length > before) flushes.push(now);
    }
    const gaps = flushes.slice(1).map((t, i) => t - flushes[i]);
    expect(gaps.slice(0, 3)).toEqual([500, 1000, 1000]);
    // Deliveries are bounded by the window, not by the arrivals (200 arrivals, 7 events).
    expect(sent.length).toBeLessThanOrEqual(8);
  });

  it('throttles rooms and streams separately', () => {
    join(1, 1);
    join(2, 1);
    join(1, 1, 'p');
    join(1, 2);
    expect(sent).toEqual(['t:1:join:1', 't:2:join:1', 'p:1:join:1']);
    advance(250);
    expect(sent.at(-1)).toBe('t:1:join:2');
  });
});
