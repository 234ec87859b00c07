import type { Chatroom, ChatroomDetail, Message, MessageType, PublicUser, User } from '@chat-backend/client';

/** A message of mine not acknowledged yet (or refused): shown with its state. */
export interface PendingMessage {
  clientMsgId: string;
  chatroomId: number;
  type: MessageType;
  content: string;
  createdAt: string;
  state: 'pending' | 'failed';
  error?: string;
}

export interface Timeline {
  bySeq: Map<number, Message>;
  pending: Map<string, PendingMessage>;
  /** Lowest seq loaded (history goes backwards from here) and whether older pages exist. */
  oldestSeq: number | null;
  hasMoreBefore: boolean;
  loaded: boolean;
}

type Listener = () => void;

/**
 * Everything the views show, in one place, with a tiny pub/sub: views subscribe to a topic
 * ('rooms', 'room:<id>', 'conn') and re-render what they own.
 */
export class Store {
  me: User | null = null;
  rooms = new Map<number, Chatroom>();
  details = new Map<number, ChatroomDetail>();
  timelines = new Map<number, Timeline>();
  typing = new Map<number, Map<number, number>>();
  presence = new Map<number, boolean>();
  connected = false;
  private listeners = new Map<string, Set<Listener>>();
  private queued = new Set<string>();

  on(topic: string, fn: Listener): () => void {
    let set = this.listeners.get(topic);
    if (!set) this.listeners.set(topic, (set = new Set()));
    set.add(fn);
    return () => set.delete(fn);
  }

  /** Coalesces bursts (a sync of 200 messages) into one render per topic per frame. */
  emit(topic: string): void {
    if (this.queued.has(topic)) return;
    this.queued.add(topic);
    queueMicrotask(() => {
      this.queued.delete(topic);
      for (const fn of [...(this.listeners.get(topic) ?? [])]) fn();
    });
  }

  timeline(roomId: number): Timeline {
    let t = this.timelines.get(roomId);
    if (!t) {
      t = { bySeq: new Map(), pending: new Map(), oldestSeq: null, hasMoreBefore: true, loaded: false };
      this.timelines.set(roomId, t);
    }
    return t;
  }

  /** Rooms sorted by latest activity. */
  sortedRooms(): Chatroom[] {
    const at = (r: Chatroom) => (r.lastMessage ? Date.parse(r.lastMessage.createdAt) : Date.parse(r.createdAt));
    return [...this.rooms.values()].sort((a, b) => at(b) - at(a));
  }

  userName(id: number): string {
    if (this.me?.id === id) return 'You';
    for (const d of this.details.values()) {
      const m = d.members.find((x) => x.user.id === id);
      if (m) return m.user.nickName || m.user.username;
    }
    return `user #${id}`;
  }

  /** A direct room is named after the other person once its members are known. */
  roomTitle(room: Chatroom): string {
    if (room.type !== 'direct') return room.name;
    const other = this.directPeer(room.id);
    return other ? other.nickName || other.username : room.name;
  }

  directPeer(roomId: number): PublicUser | undefined {
    return this.details.get(roomId)?.members.find((m) => m.user.id !== this.me?.id)?.user;
  }
}
