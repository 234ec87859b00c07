// TEMPORARY: the shapes of CONTRACT.md until @chat-backend/protocol lands on the sdk branch;
// then this file re-exports from it and is deleted.
export interface PublicUser {
  id: number;
  username: string;
  nickName: string;
  headPic: string;
  createdAt: string;
  email?: string;
  role?: 'user' | 'admin';
}
export type User = PublicUser;
export interface LoginResult {
  accessToken: string;
  user: User;
}
export type MessageType = 'text' | 'image' | 'file';
export interface Message {
  id: string;
  chatroomId: number;
  seq: number;
  senderId: number;
  sender: { id: number; username: string; nickName: string; headPic: string };
  type: MessageType;
  content: string;
  clientMsgId?: string;
  createdAt: string;
  editedAt?: string | null;
  deleted?: boolean;
}
export interface Chatroom {
  id: number;
  name: string;
  type: 'direct' | 'group';
  createdAt: string;
  memberCount: number;
  lastSeq: number;
  readSeq: number;
  unreadCount: number;
  lastMessage?: Message | null;
}
export interface ChatroomMember {
  user: PublicUser;
  role: string;
  readSeq: number;
  online?: boolean;
}
export interface ChatroomDetail extends Chatroom {
  members: ChatroomMember[];
}
export interface Page<T> {
  items: T[];
  hasMore: boolean;
  nextCursor?: string;
}
export interface AdminMessage extends Message {
  room?: { id: number; name: string };
}
export interface TimelineEventPayload {
  type: string;
  chatroomId: number;
  userId?: number;
  message?: Message;
}
export interface ReadEvent {
  chatroomId: number;
  userId: number;
  seq: number;
}
export interface InboxEvent {
  chatroomId: number;
  unreadCount: number;
  totalUnread: number;
}
export interface TypingEvent {
  chatroomId: number;
  userId: number;
  typing: boolean;
}
export interface PresenceEvent {
  userId: number;
  online: boolean;
}
