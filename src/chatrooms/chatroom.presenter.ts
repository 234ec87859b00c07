import type { Chatroom, MemberRole } from '../generated/prisma/client';
import type { MessagePreview } from '../chat-history/message.types';
import type { PublicUser } from '../users/user.presenter';

/** The contract's Chatroom shape, as seen by one member. */
export interface ChatroomView {
  id: number;
  name: string;
  type: Chatroom['type'];
  createdAt: Date;
  memberCount: number;
  lastSeq: number;
  readSeq: number;
  unreadCount: number;
  lastMessage?: MessagePreview;
}

export interface MemberView {
  user: PublicUser;
  role: MemberRole;
  readSeq: number;
  online?: boolean;
}

export interface ChatroomDetailView extends ChatroomView {
  members: MemberView[];
}
