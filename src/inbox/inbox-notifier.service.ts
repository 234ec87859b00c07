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
  /** Rooms with activity in the current window: to look at here, and to tell the peers of. */
  private readonly dirtyLocal = new Set<number>();
  private readonly dirtyPeers = new Set<number>();
  /**
   * One timer per window for all rooms, armed by the window's first activity, instead of
   * two per active room and window: each lived about one scavenge, long enough to be copied
   * and sometimes promoted, so timers were a steady share of the garbage old space collects.
   */
  private window: NodeJS.Timeout | undefined;

  constructor(
    private readonly broadcaster: Broadcaster,
    private readonly membership: MembershipService,
    private readonly readState: ReadStateService,
  ) {}

  /** Called by the send path after each broadcast. Cheap: two set insertions. */
  touched(chatroomId: number): void {
    this.dirtyPeers.add(chatroomId);
    this.schedule(chatroomId);
  }

  /** Another instance saw activity in the room: look at this instance's sockets too. */
  schedule(chatroomId: number): void {
    this.dirtyLocal.add(chatroomId);
    this.window ??= setTimeout(() => this.closeWindow(), WINDOW_MS);
  }

  private closeWindow(): void {
    this.window = undefined;
    for (const chatroomId of this.dirtyPeers) this.broadcaster.roomActivity(chatroomId);
    this.dirtyPeers.clear();
    for (const chatroomId of this.dirtyLocal) {
      this.notify(chatroomId).catch((e: Error) => this.logger.warn(`inbox notify ${chatroomId}: ${e.message}`));
    }
    this.dirtyLocal.clear();
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

  /** The open window is dropped at shutdown: clients catch up with GET /inbox. */
  beforeApplicationShutdown(): void {
    clearTimeout(this.window);
    this.window = undefined;
    this.dirtyLocal.clear();
    this.dirtyPeers.clear();
  }
}
