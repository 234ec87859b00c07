import { Injectable } from '@nestjs/common';
import type { AuthUser } from '../auth/auth.types';
import { Broadcaster } from '../chat/broadcaster.service';
import { AppError, ErrorCode } from '../common/errors';
import { AppConfig } from '../config/app-config';
import { Prisma, type Chatroom, type MemberRole } from '../generated/prisma/client';
import { PrismaService } from '../prisma/prisma.service';
import { PUBLIC_USER_SELECT, toPublicUser } from '../users/user.presenter';
import { ChatroomDetailView, ChatroomView } from './chatroom.presenter';
import { RoomSummaryService } from './room-summary.service';
import { AddMembersDto, CreateChatroomDto, DirectChatroomDto } from './dto/chatroom.dto';
import { MembershipService } from './membership.service';
import { lockUsers, RoomChanges, type Tx } from './room-changes';
import { RoomRemovals } from './room-removals';
import { ThrottleService } from '../auth/throttle.service';
import { roomMembersRefusal } from './room-members-cap';

const MANAGERS = new Set(['owner', 'admin']);

/**
 * Rooms and their members. Member changes run through RoomChanges (transactions, one
 * caller's at a time, a few at once per instance, the room's lock) and tell Redis of
 * removals through RoomRemovals, inside the same transaction.
 */
@Injectable()
export class ChatroomsService {
  constructor(
    private readonly prisma: PrismaService,
    private readonly membership: MembershipService,
    private readonly summaries: RoomSummaryService,
    private readonly broadcaster: Broadcaster,
    private readonly config: AppConfig,
    private readonly throttle: ThrottleService,
    private readonly changes: RoomChanges,
    private readonly removals: RoomRemovals,
  ) {}

  async create(caller: AuthUser, dto: CreateChatroomDto): Promise<ChatroomView> {
    const others = [...new Set(dto.memberIds ?? [])].filter((id) => id !== caller.id);
    const full = roomMembersRefusal(0, 1 + others.length, this.config.roomMembersMax, 'memberIds');
    if (full) throw full;
    await this.requireUsers(others);
    const joining = [caller.id, ...others];
    await this.requireRoomLeft(this.prisma, joining, caller.id, 'memberIds');
    const room = await this.changes.run(caller, async (tx) => {
      await lockUsers(tx, joining);
      await this.requireRoomLeft(tx, joining, caller.id, 'memberIds');
      const created = await tx.chatroom.create({
        data: {
          name: dto.name,
          type: 'group',
          createdById: caller.id,
          members: {
            create: [{ userId: caller.id, role: 'owner' }, ...others.map((userId) => ({ userId }))],
          },
        },
      });
      await this.removals.forget(created.id, joining);
      return created;
    });
    return this.view(caller.id, room);
  }

  /**
   * The one direct room of a pair. Racing creators of a pair queue on the pair's user rows
   * (lockUsers): the later one finds the earlier one's room there, and is not refused for
   * a room the pair is in. `direct_key` is unique all the same: should two INSERTs
   * meet, one wins and the other reads the winner's room.
   */
  async direct(caller: AuthUser, dto: DirectChatroomDto): Promise<{ room: ChatroomView; created: boolean }> {
    if (dto.userId === caller.id) {
      throw AppError.validation('A direct room needs another user', [{ field: 'userId', errors: ['is yourself'] }]);
    }
    const peer = await this.prisma.user.findUnique({ where: { id: dto.userId }, select: { username: true } });
    if (!peer) throw AppError.notFound('User');
    const directKey = [caller.id, dto.userId].sort((a, b) => a - b).join(':');
    const existing = await this.prisma.chatroom.findUnique({ where: { directKey } });
    if (existing) return { room: await this.view(caller.id, existing), created: false };
    await this.requireRoomLeft(this.prisma, [caller.id, dto.userId], caller.id, 'userId');
    try {
      const made = await this.changes.run(caller, async (tx) => {
        await lockUsers(tx, [caller.id, dto.userId]);
        const winner = await tx.chatroom.findUnique({ where: { directKey } });
        if (winner) return { room: winner, created: false };
        await this.requireRoomLeft(tx, [caller.id, dto.userId], caller.id, 'userId');
        const room = await tx.chatroom.create({
          data: {
            name: `${caller.username}, ${peer.username}`,
            type: 'direct',
            directKey,
            createdById: caller.id,
            members: {
              create: [
                { userId: caller.id, role: 'member' },
                { userId: dto.userId, role: 'member' },
              ],
            },
          },
        });
        await this.removals.forget(room.id, [caller.id, dto.userId]);
        return { room, created: true };
      });
      return { room: await this.view(caller.id, made.room), created: made.created };
    } catch (err) {
      // The violation aborted that transaction: the winner is read outside it.
      if (!(err instanceof Prisma.PrismaClientKnownRequestError) || err.code !== 'P2002') throw err;
      const winner = await this.prisma.chatroom.findUniqueOrThrow({ where: { directKey } });
      return { room: await this.view(caller.id, winner), created: false };
    }
  }

  /** My rooms, most recent activity first. */
  async list(caller: AuthUser): Promise<ChatroomView[]> {
    const memberships = await this.prisma.membership.findMany({
      where: { userId: caller.id },
      include: { chatroom: true },
    });
    const views = await this.summaries.summarize(
      caller.id,
      memberships.map((m) => ({ room: m.chatroom, readSeq: m.readSeq })),
    );
    await this.throttle.chargeRoomList(caller.id, views.length);
    return views.sort((a, b) => activity(b) - activity(a));
  }

  async get(caller: AuthUser, id: number): Promise<ChatroomDetailView> {
    await this.membership.require(caller.id, id);
    const room = await this.prisma.chatroom.findUniqueOrThrow({
      where: { id },
      include: { members: { include: { user: { select: PUBLIC_USER_SELECT } }, orderBy: { joinedAt: 'asc' } } },
    });
    // Checked above, but the caller may have left since (a leave racing this read): as for a
    // non-member, 404, not a 500 from reading a membership that is gone.
    const mine = room.members.find((m) => m.userId === caller.id);
    if (!mine) throw AppError.notFound('Chatroom');
    const [summary] = await this.summaries.summarize(caller.id, [{ room, readSeq: mine.readSeq }]);
    const online = await this.summaries.online(room.members.map((m) => m.userId));
    const members = room.members.map((m) => ({
      user: toPublicUser(m.user),
      role: m.role,
      readSeq: m.readSeq,
      online: online.has(m.userId),
    }));
    await this.throttle.chargeMemberList(caller.id, members.length);
    return { ...summary, members };
  }

  /**
   * Under the room's lock, as removals (removeMember): the caller's role is read as committed
   * there, so a manager who was just removed adds nobody, and an add cannot slip in beside
   * the last other member's leaving and leave a room with members and no owner. The members
   * are counted there too, so of concurrent adds, on any instances, only those that fit
   * under ROOM_MEMBERS_MAX pass, and each added user's rooms under ROOMS_PER_USER_MAX
   * (requireRoomLeft). The answer is the room's detail (get), charged as one.
   */
  async addMembers(caller: AuthUser, id: number, dto: AddMembersDto): Promise<ChatroomDetailView> {
    const me = await this.membership.require(caller.id, id);
    if (!MANAGERS.has(me.role)) throw AppError.forbidden('Only the room owner or an admin can add members');
    const room = await this.prisma.chatroom.findUniqueOrThrow({ where: { id }, select: { type: true } });
    if (room.type === 'direct') throw AppError.forbidden('A direct room always has exactly its two users');
    const ids = [...new Set(dto.userIds)];
    await this.requireUsers(ids);
    await this.requireRoomLeft(this.prisma, ids, caller.id, 'userIds', id);
    await this.changes.underRoomLock(caller, id, async (tx) => {
      const role = (await rolesOf(tx, id, [caller.id])).get(caller.id);
      if (!role) throw AppError.notFound('Chatroom');
      if (!MANAGERS.has(role)) throw AppError.forbidden('Only the room owner or an admin can add members');
      await lockUsers(tx, ids);
      await this.requireRoomLeft(tx, ids, caller.id, 'userIds', id);
      const { has, already } = await memberCount(tx, id, ids);
      const full = roomMembersRefusal(has, ids.length - already, this.config.roomMembersMax, 'userIds');
      if (full) throw full;
      await tx.membership.createMany({
        data: ids.map((userId) => ({ chatroomId: id, userId })),
        skipDuplicates: true,
      });
      await this.removals.forget(id, ids);
    });
    // The room's member list is cached for the inbox notifier, here and on the peers: one
    // eviction of the list for the whole addition, not one per added user.
    this.membership.evict(undefined, id);
    this.broadcaster.membershipChanged(id);
    return this.get(caller, id);
  }

  /**
   * Owners remove anyone but themselves via this path; room admins remove plain members;
   * anyone may remove themselves (leave). Direct rooms cannot be left. An owner who leaves
   * hands the room over in the same transaction (see handOver).
   *
   * Removals of one room run one at a time, on any instance (RoomChanges.underRoomLock), each reading
   * the caller's and the target's roles as committed. Read before, a concurrent removal
   * could have taken a row or handed it the room: an owner and the next in line leaving at
   * once left the group with members and no owner. No member row is locked before the
   * permission check, so a refused request holds nothing.
   *
   * Before it answers, the removed user is in the room's removed set (RoomRemovals.mark): from
   * then on no instance appends their sends, even one whose cache has not heard of it yet.
   */
  async removeMember(caller: AuthUser, id: number, userId: number): Promise<void> {
    await this.membership.require(caller.id, id);
    await this.changes.underRoomLock(caller, id, (tx) => this.removeIn(tx, caller, id, userId));
    this.membership.evict(userId, id);
    this.broadcaster.removeUserFromRoom(userId, id);
  }

  /**
   * Refuses (409 CONFLICT) to make a user a member of one more room once they are in
   * ROOMS_PER_USER_MAX, or, when someone else adds them, in all but the tenth of it kept for
   * their own rooms (othersMayFill): `details` name each such user (the caller's own limit
   * under `field` too, as the caller asked for the room). Members of `exceptIn` already are,
   * and are not counted as joining. The count that holds is in the transaction that adds the
   * memberships, after lockUsers: every way into a room counts a user's rooms holding their
   * row, so of concurrent requests, on any instances, only those that fit pass. Each way in
   * counts once before too, outside (`db` the client): a flood at a full user is refused
   * there, without queueing on their row and holding a connection for its transaction.
   */
  private async requireRoomLeft(db: Tx, ids: number[], callerId: number, field: string, exceptIn = 0): Promise<void> {
    const max = this.config.roomsPerUserMax;
    const byOthers = othersMayFill(max);
    const rows = await db.$queryRaw<{ userId: number; rooms: number }[]>`
      SELECT cm.user_id AS "userId", count(*)::int AS rooms FROM chatroom_members cm
       WHERE cm.user_id = ANY(${ids}::int[])
         AND NOT EXISTS (SELECT 1 FROM chatroom_members x WHERE x.user_id = cm.user_id AND x.chatroom_id = ${exceptIn})
       GROUP BY cm.user_id
      HAVING count(*) >= CASE WHEN cm.user_id = ${callerId}::int THEN ${max}::int ELSE ${byOthers}::int END`;
    if (!rows.length) return;
    rows.sort((a, b) => a.userId - b.userId);
    // At the cap for everyone (the caller's own limit; or full; or no tenth kept), or at what
    // others may fill. Another user's exact count is theirs: the answer names only the limit.
    const atCap = ({ userId, rooms }: { userId: number; rooms: number }) =>
      userId === callerId || rooms >= max || byOthers === max;
    const why = (r: { userId: number; rooms: number }) =>
      atCap(r)
        ? `user ${r.userId} is in ${max} rooms, the most one may be in`
        : `user ${r.userId} is in ${byOthers} rooms, the most others may add them to (the rest, up to ${max}, are for rooms they start)`;
    const who = rows.map((r) => r.userId);
    const users = who.length === 1 ? `User ${who[0]} is` : `Users ${who.join(', ')} are`;
    const message = who.includes(callerId)
      ? `You are in ${max} rooms, the most one may be in: leave one first`
      : rows.every(atCap)
        ? `${users} in ${max} rooms, the most one may be in`
        : `${users} in as many rooms as others may add them to`;
    throw new AppError(ErrorCode.Conflict, message, [{ field, errors: rows.map(why) }]);
  }

  private async removeIn(tx: Tx, caller: AuthUser, id: number, userId: number): Promise<void> {
    const roles = await rolesOf(tx, id, [caller.id, userId]);
    const myRole = roles.get(caller.id);
    const targetRole = roles.get(userId);
    if (!myRole) throw AppError.notFound('Chatroom');
    if (!targetRole) throw AppError.notFound('Member');
    const room = await tx.chatroom.findUniqueOrThrow({ where: { id }, select: { type: true } });
    if (room.type === 'direct') throw AppError.forbidden('A direct room cannot be left');
    if (userId !== caller.id) this.assertCanRemove(myRole, targetRole);
    await tx.membership.delete({ where: { chatroomId_userId: { chatroomId: id, userId } } });
    if (targetRole === 'owner') await this.handOver(tx, id);
    await this.removals.mark(id, userId);
  }

  private assertCanRemove(myRole: string, targetRole: string): void {
    if (myRole === 'owner') return;
    if (myRole === 'admin' && targetRole === 'member') return;
    throw AppError.forbidden('Only the owner, or an admin for plain members, can remove members');
  }

  /**
   * The room passes to a room admin if there is one, else to a member: the longest-standing
   * (earliest `joined_at`, then the lowest user id: a room's first members join in one
   * instant). Under the room's lock (RoomChanges.underRoomLock), so no other change of members moves who is next.
   */
  private async handOver(tx: Tx, chatroomId: number): Promise<void> {
    await tx.$executeRaw`
      UPDATE chatroom_members SET role = 'owner'
       WHERE chatroom_id = ${chatroomId}
         AND user_id = (SELECT user_id FROM chatroom_members WHERE chatroom_id = ${chatroomId}
                         ORDER BY role, joined_at, user_id LIMIT 1)`;
  }

  private async requireUsers(ids: number[]): Promise<void> {
    if (!ids.length) return;
    const found = await this.prisma.user.findMany({ where: { id: { in: ids } }, select: { id: true } });
    const missing = ids.filter((id) => !found.some((u) => u.id === id));
    if (missing.length) throw AppError.notFound(`User ${missing.join(', ')}`);
  }

  private async view(userId: number, room: Chatroom): Promise<ChatroomView> {
    const m = await this.membership.require(userId, room.id);
    const [view] = await this.summaries.summarize(userId, [{ room, readSeq: m.readSeq }]);
    return view;
  }
}

/** The roles of these users in the room (the caller holds the room's lock, see RoomChanges.underRoomLock). */
async function rolesOf(tx: Tx, chatroomId: number, userIds: number[]): Promise<Map<number, MemberRole>> {
  const rows = await tx.$queryRaw<{ userId: number; role: MemberRole }[]>`
    SELECT user_id AS "userId", role::text AS role FROM chatroom_members
     WHERE chatroom_id = ${chatroomId} AND user_id = ANY(${[...new Set(userIds)]}::int[])`;
  return new Map(rows.map((r) => [r.userId, r.role]));
}

/** The room's members, and how many of `userIds` are among them (under the room's lock). */
async function memberCount(tx: Tx, chatroomId: number, userIds: number[]): Promise<{ has: number; already: number }> {
  const [row] = await tx.$queryRaw<{ has: number; already: number }[]>`
    SELECT count(*)::int AS has, (count(*) FILTER (WHERE user_id = ANY(${userIds}::int[])))::int AS already
      FROM chatroom_members WHERE chatroom_id = ${chatroomId}`;
  return row;
}

function activity(r: ChatroomView): number {
  return Date.parse(r.lastMessage?.createdAt ?? '') || r.createdAt.getTime();
}

/**
 * How many rooms others may put a user in: ROOMS_PER_USER_MAX less a tenth of it, kept for
 * the rooms the user makes themselves (a group they create, a direct room they start).
 * Anyone may add anyone to a room, so without it a stranger could fill a user's rooms with
 * rooms of their own and leave them (a probe did, in about a minute for the default cap):
 * the user could then neither create a room nor be added to one. Now they can always start
 * their own. Under ten rooms nothing is kept.
 */
export function othersMayFill(roomsPerUserMax: number): number {
  return roomsPerUserMax - Math.floor(roomsPerUserMax / 10);
}
