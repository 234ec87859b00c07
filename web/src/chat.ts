import {
  ChatClient,
  type ChatroomDetail,
  type InboxEvent,
  type Message,
  type MessageType,
  type MessageUpdate,
  type OutgoingMessage,
  type PresenceEvent,
  type ReadEvent,
  type TypingEvent,
} from '@chat-backend/client';
import type { Store } from './store';

const PAGE = 40;

/**
 * API answers are live state read with a token: never from the HTTP cache (the API sends no
 * ETag to revalidate with, and a cached answer would be stale).
 */
export const freshFetch: typeof fetch = (input, init) => fetch(input, { ...init, cache: 'no-store' });
const TYPING_TTL_MS = 6000;

/**
 * The app's side of @chat-backend/client: the SDK delivers each joined room's messages once
 * and in seq order (syncing gaps and after reconnects) and tracks my sends; this class puts
 * what it reports into the store the views render from, and pages history backwards by REST.
 */
export class Chat {
  readonly client: ChatClient;
  private joined = new Set<number>();

  constructor(
    readonly store: Store,
    token: string,
  ) {
    this.client = new ChatClient({ url: location.origin, token, fetch: freshFetch });
  }

  get api() {
    return this.client.api;
  }

  /** Loads the room list, opens the socket and joins every room (for live previews and badges). */
  async start(onUnauthorized: () => void): Promise<void> {
    const c = this.client;
    c.on('connect', () => {
      this.setConnected(true);
      // The SDK re-joins and syncs the rooms it tracks; the list may have new rooms and counts.
      void this.refreshRooms().catch(() => undefined);
    });
    c.on('disconnect', () => this.setConnected(false));
    c.on('connectError', (err) => {
      if (err.code === 'UNAUTHORIZED') onUnauthorized();
    });
    c.on('message', (m) => this.put(m));
    c.on('messageUpdated', (e) => this.onUpdate(e));
    c.on('messageState', (o) => this.onState(o));
    c.on('read', (e) => this.onRead(e));
    c.on('inbox', (e) => void this.onInbox(e));
    c.on('typing', (e) => this.onTyping(e));
    c.on('presence', (e) => this.onPresence(e));
    await this.refreshRooms();
    await c.connect();
  }

  stop(): void {
    this.client.disconnect();
  }

  private setConnected(v: boolean): void {
    this.store.connected = v;
    this.store.emit('conn');
  }

  async refreshRooms(): Promise<void> {
    const rooms = await this.api.rooms();
    const { store } = this;
    for (const r of rooms) {
      const known = store.rooms.get(r.id);
      // Live counts win over a list fetched while messages were arriving.
      store.rooms.set(r.id, known && known.lastSeq > r.lastSeq ? known : r);
      if (!known) void this.loadDetail(r.id).catch(() => undefined);
      if (!this.joined.has(r.id) && this.client.connected) void this.join(r.id);
    }
    store.emit('rooms');
  }

  private async join(roomId: number): Promise<void> {
    this.joined.add(roomId);
    // From the seq the list showed, so nothing between the list and the join goes missing.
    const afterSeq = this.store.rooms.get(roomId)?.lastSeq;
    await this.client.joinRoom(roomId, { afterSeq }).catch(() => this.joined.delete(roomId));
  }

  async loadDetail(roomId: number): Promise<ChatroomDetail> {
    const d = await this.api.room(roomId);
    this.store.details.set(roomId, d);
    for (const m of d.members) if (m.online !== undefined) this.store.presence.set(m.user.id, m.online);
    this.store.emit('rooms');
    this.store.emit(`room:${roomId}`);
    return d;
  }

  /**
   * The newest page first, then older pages as the user scrolls up (cursor `before`). Live
   * messages of a joined room start right after its seq at join time and arrive without holes,
   * so the loaded range stays contiguous: it runs from the lowest seq held to the newest.
   */
  async loadOlder(roomId: number): Promise<void> {
    const t = this.store.timeline(roomId);
    const page = await this.api.history(roomId, { limit: PAGE, before: t.oldestSeq ?? undefined });
    t.loaded = true;
    for (const m of page.items) this.put(m);
    t.hasMoreBefore = page.hasMore;
    t.oldestSeq = t.bySeq.size ? Math.min(...t.bySeq.keys()) : null;
    this.store.emit(`room:${roomId}`);
  }

  /** Merges one message into its room by seq (so nothing shows twice) and updates the list entry. */
  private put(m: Message): void {
    const { store } = this;
    const t = store.timeline(m.chatroomId);
    const had = t.bySeq.has(m.seq);
    t.bySeq.set(m.seq, m);
    const room = store.rooms.get(m.chatroomId);
    if (!room) void this.refreshRooms().catch(() => undefined);
    else if (m.seq >= room.lastSeq) {
      const mine = m.senderId === store.me?.id;
      if (!had && !mine && m.seq > room.lastSeq && !m.deleted) room.unreadCount += 1;
      room.lastSeq = m.seq;
      room.lastMessage = m;
      if (mine) room.readSeq = Math.max(room.readSeq, m.seq);
      store.emit('rooms');
    }
    store.emit(`room:${m.chatroomId}`);
  }

  private onUpdate(e: MessageUpdate): void {
    const room = this.store.rooms.get(e.chatroomId);
    const t = this.store.timeline(e.chatroomId);
    // A retraction is final. An edit whose write landed just before it can still be announced
    // after it (two requests, possibly two instances): it must not bring the text back. Of
    // two edits the server keeps the later editedAt, and their announcements can cross too.
    const shown = t.bySeq.get(e.message.seq) ?? (room?.lastMessage?.id === e.message.id ? room.lastMessage : undefined);
    if (shown?.deleted && !e.message.deleted) return;
    if (!e.message.deleted && (shown?.editedAt ?? '') > (e.message.editedAt ?? '')) return;
    if (room?.lastMessage?.id === e.message.id) {
      room.lastMessage = e.message;
      this.store.emit('rooms');
    }
    if (t.bySeq.has(e.message.seq)) {
      t.bySeq.set(e.message.seq, e.message);
      this.store.emit(`room:${e.chatroomId}`);
    }
  }

  /** My sends: shown as pending until acked (then as the stored message) or failed. */
  private onState(o: OutgoingMessage): void {
    const t = this.store.timeline(o.chatroomId);
    if (o.state === 'acked') {
      t.pending.delete(o.clientMsgId);
      if (o.message) this.put(o.message);
    } else {
      t.pending.set(o.clientMsgId, {
        clientMsgId: o.clientMsgId,
        chatroomId: o.chatroomId,
        type: o.type,
        content: o.content,
        createdAt: t.pending.get(o.clientMsgId)?.createdAt ?? new Date().toISOString(),
        state: o.state,
        error: o.error?.message,
      });
    }
    this.store.emit(`room:${o.chatroomId}`);
  }

  private onRead(e: ReadEvent): void {
    const member = this.store.details.get(e.chatroomId)?.members.find((x) => x.user.id === e.userId);
    if (member) member.readSeq = Math.max(member.readSeq, e.seq);
    this.store.emit(`room:${e.chatroomId}`);
  }

  private async onInbox(e: InboxEvent): Promise<void> {
    const room = this.store.rooms.get(e.chatroomId);
    if (!room) return this.refreshRooms();
    room.unreadCount = e.unreadCount;
    if (e.unreadCount === 0) room.readSeq = Math.max(room.readSeq, room.lastSeq);
    this.store.emit('rooms');
  }

  private onTyping(e: TypingEvent): void {
    const { store } = this;
    let map = store.typing.get(e.chatroomId);
    if (!map) store.typing.set(e.chatroomId, (map = new Map<number, number>()));
    clearTimeout(map.get(e.userId));
    if (e.typing) {
      const expire = () => {
        map.delete(e.userId);
        store.emit(`room:${e.chatroomId}`);
      };
      map.set(e.userId, window.setTimeout(expire, TYPING_TTL_MS));
    } else map.delete(e.userId);
    store.emit(`room:${e.chatroomId}`);
  }

  /** One event may stand for several users (`userIds`, when the server coalesced arrivals). */
  private onPresence(e: PresenceEvent): void {
    const users = e.userIds ?? [e.userId];
    for (const user of users) this.store.presence.set(user, e.online);
    this.store.emit('rooms');
    for (const [id, d] of this.store.details) {
      if (d.members.some((m) => users.includes(m.user.id))) this.store.emit(`room:${id}`);
    }
  }

  send(roomId: number, type: MessageType, content: string): void {
    this.client.send(roomId, content, { type });
  }

  retry(clientMsgId: string): void {
    this.client.retry(clientMsgId);
  }

  async markRead(roomId: number, seq: number): Promise<void> {
    const room = this.store.rooms.get(roomId);
    if (!room || (seq <= room.readSeq && room.unreadCount === 0)) return;
    room.readSeq = Math.max(room.readSeq, seq);
    room.unreadCount = 0;
    this.store.emit('rooms');
    const res = await this.client.markRead(roomId, seq).catch(() => null);
    if (res) {
      room.unreadCount = res.unreadCount;
      this.store.emit('rooms');
    }
  }

  typing(roomId: number, typing: boolean): void {
    if (this.client.connected) void this.client.setTyping(roomId, typing).catch(() => undefined);
  }
}
