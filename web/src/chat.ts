import { io, type Socket } from 'socket.io-client';
import { Rest } from './api';
import type { Store } from './store';
import type {
  Chatroom,
  ChatroomDetail,
  InboxEvent,
  Message,
  MessageType,
  Page,
  PresenceEvent,
  ReadEvent,
  TimelineEventPayload,
  TypingEvent,
} from './types';

type AckResult<T> = { ok: true; data: T } | { ok: false; error: { code: string; message: string } };
const PAGE = 40;
const TYPING_TTL_MS = 6000;

/**
 * The live side of the app: REST for lists and history, one socket for everything live.
 * Keeps, per room, the highest seq applied in order; a message past it means a gap, which
 * `sync` fills; anything already known is merged by seq, so every message shows once, in
 * seq order, however it arrives (live, sync, history, ack).
 */
export class Chat {
  readonly rest: Rest;
  private socket: Socket | null = null;
  private syncedSeq = new Map<number, number>();
  private joined = new Set<number>();

  constructor(
    readonly store: Store,
    private readonly token: string,
  ) {
    this.rest = new Rest(() => this.token);
  }

  async start(): Promise<void> {
    await this.refreshRooms();
    const socket = io({ auth: { token: this.token }, transports: ['websocket'] });
    this.socket = socket;
    socket.on('connect', () => void this.onConnect());
    socket.on('disconnect', () => this.setConnected(false));
    socket.on('message', (e: TimelineEventPayload) => this.onTimeline(e));
    socket.on('read', (e: ReadEvent) => this.onRead(e));
    socket.on('inbox', (e: InboxEvent) => void this.onInbox(e));
    socket.on('typing', (e: TypingEvent) => this.onTyping(e));
    socket.on('presence', (e: PresenceEvent) => this.onPresence(e));
  }

  stop(): void {
    this.socket?.disconnect();
    this.socket = null;
  }

  private setConnected(v: boolean): void {
    this.store.connected = v;
    this.store.emit('conn');
  }

  private async emit<T>(event: string, payload: unknown, timeoutMs = 15_000): Promise<T> {
    const socket = this.socket;
    if (!socket?.connected) throw new Error('offline');
    const res = (await socket.timeout(timeoutMs).emitWithAck(event, payload)) as AckResult<T>;
    if (!res.ok) throw new Error(res.error.message);
    return res.data;
  }

  /** After every (re)connect: rejoin every room, fetch what was missed, resend what was not acked. */
  private async onConnect(): Promise<void> {
    this.joined.clear();
    await this.refreshRooms().catch(() => undefined);
    await Promise.all([...this.store.rooms.keys()].map((id) => this.join(id)));
    await this.syncLoaded();
    this.setConnected(true);
    for (const t of this.store.timelines.values()) {
      for (const p of t.pending.values()) void this.deliver(p.chatroomId, p.clientMsgId);
    }
  }

  private async join(roomId: number): Promise<void> {
    if (this.joined.has(roomId)) return;
    this.joined.add(roomId);
    await this.emit('joinRoom', { chatroomId: roomId }).catch(() => this.joined.delete(roomId));
  }

  async refreshRooms(): Promise<void> {
    const rooms = await this.rest.get<Chatroom[]>('/chatrooms');
    const { store } = this;
    for (const r of rooms) {
      const known = store.rooms.get(r.id);
      store.rooms.set(r.id, r);
      if (!known) void this.loadDetail(r.id);
      if (!known && this.socket?.connected) void this.join(r.id);
    }
    store.emit('rooms');
  }

  async loadDetail(roomId: number): Promise<ChatroomDetail> {
    const d = await this.rest.get<ChatroomDetail>(`/chatrooms/${roomId}`);
    this.store.details.set(roomId, d);
    for (const m of d.members) if (m.online !== undefined) this.store.presence.set(m.user.id, m.online);
    this.store.emit('rooms');
    this.store.emit(`room:${roomId}`);
    return d;
  }

  /** Newest page first, then older pages as the user scrolls up (cursor `before`). */
  async loadOlder(roomId: number): Promise<void> {
    const t = this.store.timeline(roomId);
    const before = t.oldestSeq === null ? '' : `&before=${t.oldestSeq}`;
    const page = await this.rest.get<Page<Message>>(`/chatrooms/${roomId}/messages?limit=${PAGE}${before}`);
    const first = !t.loaded;
    t.loaded = true;
    for (const m of page.items) this.put(m);
    t.hasMoreBefore = page.hasMore;
    if (page.items.length) t.oldestSeq = Math.min(...page.items.map((m) => m.seq), t.oldestSeq ?? Infinity);
    if (first) {
      // Whatever was broadcast while the page was on its way comes from sync.
      const top = Math.max(0, ...page.items.map((m) => m.seq));
      this.syncedSeq.set(roomId, top);
      await this.sync([{ chatroomId: roomId, afterSeq: top }]);
    }
    this.store.emit(`room:${roomId}`);
  }

  private async syncLoaded(): Promise<void> {
    const rooms = [...this.store.timelines.entries()]
      .filter(([, t]) => t.loaded)
      .map(([id]) => ({ chatroomId: id, afterSeq: this.syncedSeq.get(id) ?? 0 }));
    if (rooms.length) await this.sync(rooms);
  }

  private async sync(rooms: { chatroomId: number; afterSeq: number }[]): Promise<void> {
    type SyncData = { rooms: { chatroomId: number; messages: Message[]; hasMore: boolean; lastSeq: number }[] };
    const data = await this.emit<SyncData>('sync', { rooms, limit: 500 }).catch(() => null);
    if (!data) return;
    const again: { chatroomId: number; afterSeq: number }[] = [];
    for (const r of data.rooms) {
      for (const m of r.messages) this.put(m);
      const top = Math.max(this.syncedSeq.get(r.chatroomId) ?? 0, ...r.messages.map((m) => m.seq));
      this.syncedSeq.set(r.chatroomId, top);
      if (r.hasMore) again.push({ chatroomId: r.chatroomId, afterSeq: top });
    }
    if (again.length) await this.sync(again);
  }

  /** Merges one message into its room by seq; replaces a pending copy of mine. */
  private put(m: Message): void {
    const { store } = this;
    const t = store.timeline(m.chatroomId);
    if (m.clientMsgId && m.senderId === store.me?.id) t.pending.delete(m.clientMsgId);
    const had = t.bySeq.has(m.seq);
    // A room never opened keeps only its summary; opening it loads the newest page, then syncs.
    if (t.loaded) t.bySeq.set(m.seq, m);
    const room = store.rooms.get(m.chatroomId);
    if (room && m.seq >= room.lastSeq) {
      if (!had && m.seq > room.lastSeq && m.senderId !== store.me?.id) room.unreadCount += m.seq - room.lastSeq;
      room.lastSeq = m.seq;
      room.lastMessage = m;
      if (m.senderId === store.me?.id) room.readSeq = Math.max(room.readSeq, m.seq);
      store.emit('rooms');
    }
    store.emit(`room:${m.chatroomId}`);
  }

  private onTimeline(e: TimelineEventPayload): void {
    const m = e.message;
    if (!m) return;
    if (!this.store.rooms.has(e.chatroomId)) {
      void this.refreshRooms();
      return;
    }
    if (e.type === 'sendMessage') {
      const synced = this.syncedSeq.get(e.chatroomId) ?? 0;
      this.put(m);
      if (!this.store.timeline(e.chatroomId).loaded) return;
      if (m.seq === synced + 1) this.syncedSeq.set(e.chatroomId, m.seq);
      else if (m.seq > synced + 1) void this.sync([{ chatroomId: e.chatroomId, afterSeq: synced }]);
    } else if (e.type === 'editMessage' || e.type === 'deleteMessage') {
      const t = this.store.timeline(e.chatroomId);
      if (t.bySeq.has(m.seq) || this.store.rooms.get(e.chatroomId)?.lastMessage?.id === m.id) this.put(m);
    }
  }

  private onRead(e: ReadEvent): void {
    const d = this.store.details.get(e.chatroomId);
    const member = d?.members.find((x) => x.user.id === e.userId);
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
      map.set(
        e.userId,
        window.setTimeout(() => {
          map.delete(e.userId);
          store.emit(`room:${e.chatroomId}`);
        }, TYPING_TTL_MS),
      );
    } else map.delete(e.userId);
    store.emit(`room:${e.chatroomId}`);
  }

  private onPresence(e: PresenceEvent): void {
    this.store.presence.set(e.userId, e.online);
    this.store.emit('rooms');
    for (const [id, d] of this.store.details) {
      if (d.members.some((m) => m.user.id === e.userId)) this.store.emit(`room:${id}`);
    }
  }

  /** Shows the message at once as pending; the ack (or the broadcast) turns it into a sent one. */
  send(roomId: number, type: MessageType, content: string): void {
    const clientMsgId = `w-${crypto.randomUUID()}`;
    const t = this.store.timeline(roomId);
    t.pending.set(clientMsgId, {
      clientMsgId,
      chatroomId: roomId,
      type,
      content,
      createdAt: new Date().toISOString(),
      state: 'pending',
    });
    this.store.emit(`room:${roomId}`);
    void this.deliver(roomId, clientMsgId);
  }

  /** Sends (or resends, same clientMsgId, so never twice) one pending message. */
  async deliver(roomId: number, clientMsgId: string): Promise<void> {
    const t = this.store.timeline(roomId);
    const p = t.pending.get(clientMsgId);
    if (!p) return;
    p.state = 'pending';
    this.store.emit(`room:${roomId}`);
    if (!this.socket?.connected) return; // resent by onConnect
    try {
      const m = await this.emit<Message>('sendMessage', {
        chatroomId: roomId,
        clientMsgId,
        message: { type: p.type, content: p.content },
      });
      t.pending.delete(clientMsgId);
      this.put({ ...m, clientMsgId });
    } catch (err) {
      if (!this.socket?.connected) return;
      p.state = 'failed';
      p.error = (err as Error).message;
      this.store.emit(`room:${roomId}`);
    }
  }

  async markRead(roomId: number, seq: number): Promise<void> {
    const room = this.store.rooms.get(roomId);
    if (!room || (seq <= room.readSeq && room.unreadCount === 0)) return;
    room.readSeq = Math.max(room.readSeq, seq);
    room.unreadCount = 0;
    this.store.emit('rooms');
    type ReadData = { readSeq: number; unreadCount: number };
    const res = await this.emit<ReadData>('markRead', { chatroomId: roomId, seq }).catch(() => null);
    if (res) {
      room.unreadCount = res.unreadCount;
      this.store.emit('rooms');
    }
  }

  typing(roomId: number, typing: boolean): void {
    if (this.socket?.connected) this.socket.emit('typing', { chatroomId: roomId, typing }, () => undefined);
  }
}
