import { BeforeApplicationShutdown, Injectable, Logger } from '@nestjs/common';
import { Broadcaster } from '../chat/broadcaster.service';
import { MembershipService } from '../chatrooms/membership.service';
import { ServerEvent } from '../common/constants';
import { InboxVersions } from './inbox-versions';
import { ReadStateService } from './read-state.service';

/** A burst of messages in a room becomes one `inbox` per member per window. */
const WINDOW_MS = 300;
/**
 * Members counted at once in a pass: a count is a query, and a pass of a thousand members
 * must leave most of the database pool to requests.
 */
const COUNTS_AT_ONCE = 3;

/**
 * New messages send `inbox {chatroomId, unreadCount, totalUnread}` to members who are online
 * but have not joined the room's broadcast (a client showing the room list, not the room).
 * Kept off the send path: sends only mark the room; per window, each instance looks at its
 * own sockets (local set arithmetic) and computes counts only for members it finds outside
 * the room, so rooms whose members all joined cost one cached member list per window.
 *
 * A window's rooms are handled in one pass that counts each member found outside any of them
 * once, whatever the number of rooms (a member's counts cover all their rooms, and one count
 * is a query over all of them). One pass runs at a time: windows that close meanwhile add
 * their rooms to the next pass, which starts when this one ends. A probe had one account send
 * at 18 messages a second into six rooms of the same 999 online members who had joined none:
 * each window recounted every member once per room, the passes overlapped without bound and
 * held the database pool, and other users' requests waited 0.7 s at p99, and for two minutes
 * after the sends stopped. Now the work per pass is bounded by the members online here, and
 * under load passes simply cover longer windows.
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
  /** The pass in progress: windows closing meanwhile leave their rooms for the next one. */
  private passing = false;
  private closed = false;

  constructor(
    private readonly broadcaster: Broadcaster,
    private readonly membership: MembershipService,
    private readonly readState: ReadStateService,
    private readonly versions: InboxVersions,
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
    if (this.passing || this.closed) return; // the pass in progress calls the next one
    this.passing = true;
    void this.pass()
      .catch((e: Error) => this.logger.warn(`inbox notify: ${e.message}`))
      .finally(() => {
        this.passing = false;
        if (this.dirtyLocal.size && !this.closed) this.window ??= setTimeout(() => this.closeWindow(), 0);
      });
  }

  /** Every room of the window: who is outside it here, then each such member counted once. */
  private async pass(): Promise<void> {
    const rooms = [...this.dirtyLocal];
    this.dirtyLocal.clear();
    const outsideByUser = new Map<number, [chatroomId: number, socketIds: string[]][]>();
    for (const chatroomId of rooms) {
      const members = await this.membership.memberIdsCached(chatroomId);
      for (const [userId, socketIds] of this.broadcaster.socketsOutsideRoom(members, chatroomId)) {
        const of = outsideByUser.get(userId);
        if (of) of.push([chatroomId, socketIds]);
        else outsideByUser.set(userId, [[chatroomId, socketIds]]);
      }
    }
    const queue = [...outsideByUser];
    const worker = async () => {
      for (let next = queue.shift(); next && !this.closed; next = queue.shift()) {
        const [userId, outside] = next;
        try {
          await this.notifyUser(userId, outside);
        } catch (e) {
          this.logger.warn(`inbox notify user ${userId}: ${(e as Error).message}`);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(COUNTS_AT_ONCE, queue.length) }, worker));
  }

  /** The user's counts, read after their version is taken (InboxVersions), to their sockets outside the rooms. */
  private async notifyUser(userId: number, outside: [chatroomId: number, socketIds: string[]][]): Promise<void> {
    const version = await this.versions.take(userId);
    const rooms = await this.readState.unreadOfUser(userId);
    const totalUnread = rooms.reduce((n, r) => n + r.unreadCount, 0);
    const unread = new Map(rooms.map((r) => [r.chatroomId, r.unreadCount]));
    for (const [chatroomId, socketIds] of outside) {
      const unreadCount = unread.get(chatroomId) ?? 0;
      this.broadcaster.toLocalSockets(socketIds, ServerEvent.Inbox, { chatroomId, unreadCount, totalUnread, version });
    }
  }

  /** The open window is dropped at shutdown: clients catch up with GET /inbox. */
  beforeApplicationShutdown(): void {
    this.closed = true;
    clearTimeout(this.window);
    this.window = undefined;
    this.dirtyLocal.clear();
    this.dirtyPeers.clear();
  }
}
