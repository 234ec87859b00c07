import { BeforeApplicationShutdown, Injectable, Logger } from '@nestjs/common';
import { Broadcaster } from '../chat/broadcaster.service';
import { MembershipService } from '../chatrooms/membership.service';
import { ServerEvent } from '../common/constants';
import { ReadStateService } from './read-state.service';

/** A burst of messages in a room becomes one `inbox` per member per window. */
const WINDOW_MS = 300;

/**
 * New messages send `inbox {chatroomId, unreadCount, totalUnread}` to members who are online
 * but have not joined the room's broadcast (a client showing the room list, not the room).
 * Kept off the send path: sends only mark the room; per window, each instance looks at its
 * own sockets (local set arithmetic) and computes counts only for members it finds outside
 * the room, so rooms whose members all joined cost one cached member list per window.
 */
@Injectable()
export class InboxNotifier implements BeforeApplicationShutdown {
  private readonly logger = new Logger(InboxNotifier.name);
  private readonly pendingLocal = new Map<number, NodeJS.Timeout>();
  private readonly pendingPeers = new Map<number, NodeJS.Timeout>();

  constructor(
    private readonly broadcaster: Broadcaster,
    private readonly membership: MembershipService,
    private readonly readState: ReadStateService,
  ) {}

  /** Called by the send path after each broadcast. Cheap: timers only. */
  touched(chatroomId: number): void {
    this.schedule(chatroomId);
    if (!this.pendingPeers.has(chatroomId)) {
      const timer = setTimeout(() => {
        this.pendingPeers.delete(chatroomId);
        this.broadcaster.roomActivity(chatroomId);
      }, WINDOW_MS);
      this.pendingPeers.set(chatroomId, timer);
    }
  }

  /** Another instance saw activity in the room: look at this instance's sockets too. */
  schedule(chatroomId: number): void {
    if (this.pendingLocal.has(chatroomId)) return;
    const timer = setTimeout(() => {
      this.pendingLocal.delete(chatroomId);
      this.notify(chatroomId).catch((e: Error) => this.logger.warn(`inbox notify ${chatroomId}: ${e.message}`));
    }, WINDOW_MS);
    this.pendingLocal.set(chatroomId, timer);
  }

  private async notify(chatroomId: number): Promise<void> {
    const members = await this.membership.memberIdsCached(chatroomId);
    const outside = this.broadcaster.socketsOutsideRoom(members, chatroomId);
    for (const [userId, socketIds] of outside) {
      const rooms = await this.readState.unreadOfUser(userId);
      const totalUnread = rooms.reduce((n, r) => n + r.unreadCount, 0);
      const unreadCount = rooms.find((r) => r.chatroomId === chatroomId)?.unreadCount ?? 0;
      this.broadcaster.toLocalSockets(socketIds, ServerEvent.Inbox, { chatroomId, unreadCount, totalUnread });
    }
  }

  /** Pending windows are dropped at shutdown: clients catch up with GET /inbox. */
  beforeApplicationShutdown(): void {
    for (const t of [...this.pendingLocal.values(), ...this.pendingPeers.values()]) clearTimeout(t);
    this.pendingLocal.clear();
    this.pendingPeers.clear();
  }
}
