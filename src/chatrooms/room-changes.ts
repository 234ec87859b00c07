import { Injectable } from '@nestjs/common';
import type { AuthUser } from '../auth/auth.types';
import { isTransactionConflict } from '../common/errors';
import { PerKeyQueue } from '../common/per-key-queue';
import { SlotGate } from '../common/slot-gate';
import type { Prisma } from '../generated/prisma/client';
import { PrismaService } from '../prisma/prisma.service';

export type Tx = Prisma.TransactionClient;

/** pg_advisory_xact_lock's first key for "this room's members change": the second is the room id. */
const ROOM_MEMBERS_LOCK = 0x726f6f6d; // "room"
/** Runs of a transaction here that PostgreSQL aborted to break a deadlock, before it answers UNAVAILABLE. */
const CONFLICT_ATTEMPTS = 3;
/** A caller's member changes that may wait behind their running one on an instance. */
const CHANGES_QUEUED_PER_CALLER = 32;
/** Member-change transactions at once on an instance: 4 of the pool's 10 connections (DatabasePool). */
const CHANGE_SLOTS = 4;
/** Callers' member changes that may wait for a slot (one per caller at most, see perCaller). */
const CHANGES_QUEUED = 64;

/**
 * How member changes (create, direct, add, remove) reach PostgreSQL: in transactions that
 * wait on row or advisory locks holding a pooled connection. Let through at once, a burst
 * of one caller's requests queued on their own row or room, and many callers' on one
 * victim's row, held the whole pool: everyone else's database work stalled for seconds
 * (two probes). So a caller's changes run one at a time per instance (perCaller), and all
 * callers' together in CHANGE_SLOTS connections (changeSlots); the rest of the pool stays
 * free.
 */
@Injectable()
export class RoomChanges {
  private readonly perCaller = new PerKeyQueue<number>(CHANGES_QUEUED_PER_CALLER, 'your earlier room changes');
  private readonly changeSlots = new SlotGate(CHANGE_SLOTS, CHANGES_QUEUED, 'with room changes', 10);

  constructor(private readonly prisma: PrismaService) {}

  /** `fn` in a transaction (below), after the caller's earlier ones, in one of the change slots. */
  run<T>(caller: AuthUser, fn: (tx: Tx) => Promise<T>): Promise<T> {
    return this.perCaller.run(caller.id, () => this.changeSlots.run(() => this.transaction(fn)));
  }

  /**
   * `fn` in a transaction holding the room's advisory lock: member changes of one room run
   * one at a time on any instance. The room's lock is taken before any user's row
   * (lockUsers), never after, so the two kinds of lock do not deadlock each other.
   */
  underRoomLock(caller: AuthUser, id: number, fn: (tx: Tx) => Promise<void>): Promise<void> {
    return this.run(caller, async (tx) => {
      await tx.$executeRaw`SELECT pg_advisory_xact_lock(${ROOM_MEMBERS_LOCK}::int, ${id}::int)`;
      await fn(tx);
    });
  }

  /**
   * `fn` in a transaction, run again when PostgreSQL aborts it to break a deadlock (a member
   * change with the persistence worker, whose insert moves member rows in its own order).
   */
  private async transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.prisma.$transaction(fn);
      } catch (err) {
        if (!isTransactionConflict(err) || attempt >= CONFLICT_ATTEMPTS) throw err;
      }
    }
  }
}

/**
 * Locks the users' rows, in id order (as every caller does, so two of them do not deadlock),
 * until the transaction ends: each user's room count is read and changed by one request at
 * a time. NO KEY UPDATE, as a row update would: it does not wait for, nor hold up, the
 * KEY SHARE that inserts referencing the user (messages, memberships) take.
 */
export async function lockUsers(tx: Tx, userIds: number[]): Promise<void> {
  await tx.$queryRaw`SELECT id FROM users WHERE id = ANY(${[...new Set(userIds)]}::int[]) ORDER BY id FOR NO KEY UPDATE`;
}
