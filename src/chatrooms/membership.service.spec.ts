import type { PrismaService } from '../prisma/prisma.service';
import { MembershipService } from './membership.service';

/** A pool whose membership reads answer "a member" only when the test says so. */
function fakePrisma() {
  const pending: (() => void)[] = [];
  let reads = 0;
  const pool = {
    query: () => {
      reads++;
      return new Promise((resolve) => pending.push(() => resolve({ rows: [{ i: '1', role: 'member', readSeq: 0 }] })));
    },
  };
  return {
    prisma: { pool } as unknown as PrismaService,
    answer: () => pending.splice(0).forEach((f) => f()),
    reads: () => reads,
  };
}

const turn = () => new Promise((r) => setImmediate(r));

describe('MembershipService.requireCached', () => {
  it('reuses a "yes" read when nothing was evicted meanwhile', async () => {
    const db = fakePrisma();
    const m = new MembershipService(db.prisma);
    const first = m.requireCached(7, 1);
    await turn();
    db.answer();
    await first;
    await m.requireCached(7, 1);
    expect(db.reads()).toBe(1);
  });

  it('does not keep a "yes" read while the pair was evicted: the next ask reads again', async () => {
    const db = fakePrisma();
    const m = new MembershipService(db.prisma);
    const racing = m.requireCached(7, 1);
    await turn();
    // The kick commits and evicts while the read is in flight; the read still says "member".
    m.evict(7, 1);
    db.answer();
    await racing;
    const next = m.requireCached(7, 1);
    await turn();
    expect(db.reads()).toBe(2);
    db.answer();
    await next;
  });
});
