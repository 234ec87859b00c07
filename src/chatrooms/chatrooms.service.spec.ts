import { useKeyNamespace, RedisKeys } from '../common/constants';
import { ChatroomsService } from './chatrooms.service';
import { REMOVAL_WINDOW_MS } from './membership.service';
import { RoomChanges } from './room-changes';
import { RoomRemovals } from './room-removals';

/**
 * A removal puts the removed user into the room's removed set inside its transaction, before
 * it answers and before the relay; an addition takes the added users out of it. What each
 * does when Redis fails: a removal fails (nothing committed), an addition stands.
 */
describe('ChatroomsService: the removed set', () => {
  beforeAll(() => useKeyNamespace('spec'));
  const caller = { id: 1, username: 'owner', role: 'user' as const };

  function setup(redisFails = false) {
    const log: string[] = [];
    let inTx = false;
    const fail = () => Promise.reject(new Error('Connection is closed.'));
    const multi = () => {
      const chain = {
        zremrangebyscore: (key: string, min: string, max: string) => {
          log.push(`${inTx ? 'tx' : 'out'}: zremrangebyscore ${key} ${min} ${max}`);
          return chain;
        },
        zadd: (key: string, score: number, member: number) => {
          log.push(`${inTx ? 'tx' : 'out'}: zadd ${key} ${member} ${typeof score}`);
          return chain;
        },
        pexpire: (key: string, ms: number) => {
          log.push(`${inTx ? 'tx' : 'out'}: pexpire ${key} ${ms}`);
          return chain;
        },
        exec: () =>
          redisFails
            ? fail()
            : Promise.resolve([
                [null, 0],
                [null, 1],
                [null, 1],
              ]),
      };
      return chain;
    };
    const redis = {
      client: {
        multi,
        zrem: (key: string, ...ids: number[]) => {
          log.push(`${inTx ? 'tx' : 'out'}: zrem ${key} ${ids.join(',')}`);
          return redisFails ? fail() : Promise.resolve(1);
        },
      },
    };
    const tx = {
      $executeRaw: () => Promise.resolve(0),
      $queryRaw: (strings: TemplateStringsArray) =>
        Promise.resolve(
          strings.join('?').includes('role::text')
            ? [
                { userId: 1, role: 'owner' },
                { userId: 2, role: 'member' },
              ]
            : [{ has: 2, already: 0 }],
        ),
      chatroom: { findUniqueOrThrow: () => Promise.resolve({ type: 'group' }) },
      membership: {
        delete: () => {
          log.push('tx: delete');
          return Promise.resolve();
        },
        createMany: () => {
          log.push('tx: insert');
          return Promise.resolve();
        },
      },
    };
    const prisma = {
      $transaction: async (fn: (t: typeof tx) => Promise<unknown>) => {
        inTx = true;
        try {
          const out = await fn(tx);
          log.push('commit');
          return out;
        } finally {
          inTx = false;
        }
      },
      user: { findMany: () => Promise.resolve([{ id: 3 }]) },
      chatroom: { findUniqueOrThrow: () => Promise.resolve({ type: 'group' }) },
    };
    const membership = {
      require: () => Promise.resolve({ role: 'owner', readSeq: 0 }),
      evict: (userId?: number) => log.push(`evict ${userId}`),
    };
    const broadcaster = {
      removeUserFromRoom: (userId: number) => log.push(`relay ${userId}`),
      membershipChanged: () => log.push('relay'),
    };
    const service = new ChatroomsService(
      prisma as never,
      membership as never,
      {} as never,
      broadcaster as never,
      { roomMembersMax: 100, roomsPerUserMax: 100 } as never,
      {} as never,
      new RoomChanges(prisma as never),
      new RoomRemovals(redis as never),
    );
    // The answer's room read (get) is not what is tested here.
    (service as unknown as { get: () => Promise<unknown> }).get = () => Promise.resolve({});
    (service as unknown as { requireRoomLeft: () => Promise<void> }).requireRoomLeft = () => Promise.resolve();
    return { service, log };
  }

  it('adds the removed user in the transaction, kept for the window, before the relay', async () => {
    const { service, log } = setup();
    await service.removeMember(caller, 9, 2);
    const key = RedisKeys.roomRemoved(9);
    expect(log).toEqual([
      'tx: delete',
      `tx: zremrangebyscore ${key} -inf ${log[1].split(' ').at(-1)}`,
      `tx: zadd ${key} 2 number`,
      `tx: pexpire ${key} ${REMOVAL_WINDOW_MS}`,
      'commit',
      'evict 2',
      'relay 2',
    ]);
    expect(log[1]).toMatch(/ \(\d+$/); // strictly older than the window
  });

  it('fails the removal when Redis does: nothing committed, evicted or relayed', async () => {
    const { service, log } = setup(true);
    await expect(service.removeMember(caller, 9, 2)).rejects.toThrow('Connection is closed.');
    expect(log).not.toContain('commit');
    expect(log.some((l) => l.startsWith('evict') || l.startsWith('relay'))).toBe(false);
  });

  it('takes added users out of the set in the transaction; a Redis failure there does not undo the addition', async () => {
    for (const fails of [false, true]) {
      const { service, log } = setup(fails);
      await service.addMembers(caller, 9, { userIds: [3] });
      expect(log).toEqual([
        'tx: insert',
        `tx: zrem ${RedisKeys.roomRemoved(9)} 3`,
        'commit',
        'evict undefined',
        'relay',
      ]);
    }
  });
});
