import { BeforeApplicationShutdown, Global, Injectable, Module } from '@nestjs/common';
import type { Server } from 'socket.io';
import { PEER_EVICT_MEMBERSHIP, PEER_ROOM_ACTIVITY, roomChannel, userChannel } from '../common/constants';

/**
 * Emits to sockets from anywhere in the app (REST services included). Through the Redis
 * adapter every emit reaches the sockets of all instances. Without a socket server (the
 * worker-only process) emits are no-ops.
 */
@Injectable()
export class Broadcaster implements BeforeApplicationShutdown {
  private server: Server | undefined;

  attach(server: Server): void {
    this.server = server;
  }

  /**
   * Shutdown closes the adapter's Redis connections, and closing the sockets fires
   * disconnect handlers that would still emit (presence) into them. From here on emits are
   * dropped: clients reconnecting elsewhere catch up with `sync`.
   */
  beforeApplicationShutdown(): void {
    this.server = undefined;
  }

  toRoom(chatroomId: number, event: string, payload: unknown): void {
    this.server?.to(roomChannel(chatroomId)).emit(event, payload);
  }

  toUser(userId: number, event: string, payload: unknown): void {
    this.server?.to(userChannel(userId)).emit(event, payload);
  }

  /**
   * Takes every socket of a user, on every instance, out of a room's broadcast, and tells
   * the other instances to forget the cached membership (they run `onPeerEviction`).
   *
   * This instance's sockets leave at once: the Redis adapter's `socketsLeave` only
   * publishes, and applied it here too only when the message came back on the subscription,
   * so a message sent right after the removal answered still reached the user, and one lost
   * while the subscription reconnected left their socket in the room.
   */
  removeUserFromRoom(userId: number, chatroomId: number): void {
    this.server?.local.in(userChannel(userId)).socketsLeave(roomChannel(chatroomId));
    this.server?.in(userChannel(userId)).socketsLeave(roomChannel(chatroomId));
    this.membershipChanged(chatroomId, userId);
  }

  /**
   * Tells the other instances to forget what they cached of this room's members, and of this
   * user's membership when given (`onPeerEviction`).
   */
  membershipChanged(chatroomId: number, userId?: number): void {
    this.server?.serverSideEmit(PEER_EVICT_MEMBERSHIP, { userId, chatroomId });
  }

  onPeerEviction(handler: (e: { userId?: number; chatroomId: number }) => void): void {
    this.server?.on(PEER_EVICT_MEMBERSHIP, handler);
  }

  /**
   * Tells the other instances that a room had new messages (they run `onPeerActivity`).
   * Alone on Redis (InstanceAwareRedisAdapter), there is nobody to tell: that was a PUBLISH
   * per active room every inbox window, read back and dropped by this instance.
   */
  roomActivity(chatroomId: number): void {
    if ((this.server?.sockets.adapter as { isAlone?: boolean } | undefined)?.isAlone) return;
    this.server?.serverSideEmit(PEER_ROOM_ACTIVITY, chatroomId);
  }

  onPeerActivity(handler: (chatroomId: number) => void): void {
    this.server?.on(PEER_ROOM_ACTIVITY, handler);
  }

  /**
   * This instance's sockets of each user that are NOT in the room's broadcast (the user is
   * online here but has not joined the room). Local set arithmetic, no round trip.
   */
  socketsOutsideRoom(userIds: number[], chatroomId: number): Map<number, string[]> {
    const rooms = this.server?.of('/').adapter.rooms;
    const out = new Map<number, string[]>();
    if (!rooms) return out;
    // Runs per active room every inbox window, for each member: no array unless one is found.
    const inRoom = rooms.get(roomChannel(chatroomId));
    for (const userId of userIds) {
      const sockets = rooms.get(userChannel(userId));
      if (!sockets) continue;
      let ids: string[] | undefined;
      for (const id of sockets) if (!inRoom?.has(id)) (ids ??= []).push(id);
      if (ids) out.set(userId, ids);
    }
    return out;
  }

  /** Emits to these sockets of this instance only. */
  toLocalSockets(socketIds: string[], event: string, payload: unknown): void {
    this.server?.local.to(socketIds).emit(event, payload);
  }
}

@Global()
@Module({ providers: [Broadcaster], exports: [Broadcaster] })
export class BroadcastModule {}
