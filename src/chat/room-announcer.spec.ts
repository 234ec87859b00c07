import { Pending, Recheck, RoomAnnouncer } from './room-announcer';

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
      { minMs: 250, maxMs: 1000, now: () => now },
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

  describe('with a recheck of each flush', () => {
    /** Who is present now, as the counters would say; the recheck's calls, one per flush. */
    let present: Set<number>;
    let checks: Pending[][];
    let failing: boolean;

    beforeEach(() => {
      announcer.stop();
      present = new Set();
      checks = [];
      failing = false;
      const recheck: Recheck = (_room, _stream, pending) => {
        checks.push([...pending]);
        if (failing) return Promise.reject(new Error('Connection is closed.'));
        return Promise.resolve(pending.map(({ kind, userId }) => present.has(userId) === (kind === 'online')));
      };
      announcer = new RoomAnnouncer(
        (room, stream, kind, userIds) => sent.push(`${stream}:${room}:${kind}:${userIds.join(',')}`),
        { minMs: 250, maxMs: 1000, now: () => now, recheck },
      );
    });

    /** Runs the timers of `ms`, and the recheck answers (microtasks) after each. */
    const settle = async (ms = 0) => {
      await jest.advanceTimersByTimeAsync(0);
      if (ms) {
        now += ms;
        await jest.advanceTimersByTimeAsync(ms);
      }
    };
    const say = (userId: number, kind: 'online' | 'offline') => announcer.announce(1, { stream: 'p', kind, userId });

    it('drops an offline held in the window when the user is back (another instance said online meanwhile)', async () => {
      present = new Set([1, 2, 9]);
      say(9, 'online'); // opens the window
      await settle();
      present.delete(7);
      say(7, 'offline'); // held: the window is open
      present.add(7); // back elsewhere, announced there at once
      await settle(250);
      expect(sent).toEqual(['p:1:online:9']);
      expect(checks).toEqual([[{ kind: 'online', userId: 9 }], [{ kind: 'offline', userId: 7 }]]);
    });

    it('emits a fresh announcement in a quiet room at once, unchecked; held in a window, it is checked', async () => {
      present = new Set([9]);
      announcer.announce(1, { stream: 'p', kind: 'online', userId: 9, fresh: true });
      expect(sent).toEqual(['p:1:online:9']); // synchronously: before the caller answers its socket
      expect(checks).toEqual([]);
      announcer.announce(1, { stream: 'p', kind: 'online', userId: 8, fresh: true }); // the window is open
      await settle(250);
      expect(sent).toEqual(['p:1:online:9']); // 8 is not present: dropped
      expect(checks).toEqual([[{ kind: 'online', userId: 8 }]]);
    });

    it('keeps an offline that still holds, and drops an online of a user gone again, in one check per flush', async () => {
      present = new Set([9]);
      say(9, 'online');
      await settle();
      say(7, 'offline');
      say(8, 'online');
      say(6, 'offline');
      present.add(6); // back: its offline is stale
      await settle(250);
      expect(sent).toEqual(['p:1:online:9', 'p:1:offline:7']);
      expect(checks).toHaveLength(2);
      expect(checks[1].map((p) => p.userId)).toEqual([7, 8, 6]);
    });

    it('emits the last word of a user who went and came back within one window', async () => {
      say(9, 'online');
      await settle();
      say(7, 'offline');
      say(7, 'online');
      present.add(7);
      await settle(250);
      expect(sent).toEqual(['p:1:online:7']); // 9 is not present (stale too)
    });

    it('emits everything, as before, when the state cannot be read', async () => {
      failing = true;
      say(9, 'online');
      await settle();
      say(7, 'offline');
      say(8, 'online');
      await settle(250);
      expect(sent).toEqual(['p:1:online:9', 'p:1:offline:7', 'p:1:online:8']);
    });

    it('holds what arrives while a flush waits for its answer, and keeps the order', async () => {
      present = new Set([1, 2, 3]);
      let answer: (holds: boolean[]) => void = () => undefined;
      announcer.stop();
      announcer = new RoomAnnouncer(
        (room, stream, kind, userIds) => sent.push(`${stream}:${room}:${kind}:${userIds.join(',')}`),
        {
          minMs: 250,
          maxMs: 1000,
          now: () => now,
          recheck: (_room, _stream, pending) =>
            new Promise((resolve) => (answer = () => resolve(pending.map(() => true)))),
        },
      );
      say(1, 'online'); // a quiet room: checked first, then out
      say(2, 'online'); // arrives during the check: waits for the window
      expect(sent).toEqual([]);
      answer([]);
      await settle();
      expect(sent).toEqual(['p:1:online:1']);
      say(3, 'online');
      await settle(250);
      answer([]);
      await settle();
      expect(sent).toEqual(['p:1:online:1', 'p:1:online:2,3']);
    });
  });
});
