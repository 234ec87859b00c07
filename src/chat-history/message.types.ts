import type { MessageType } from '../generated/prisma/client';

export interface SenderSummary {
  id: number;
  username: string;
  nickName: string;
  headPic: string;
}

/** What every form of a message carries. */
interface MessageBase {
  id: string;
  chatroomId: number;
  seq: number;
  senderId: number;
  sender: SenderSummary;
  type: MessageType;
  content: string;
  clientMsgId?: string;
  createdAt: string;
  editedAt?: string;
}

/**
 * A message as it travels through the send path, the queue and the pending buffer: plain
 * JSON (dates as ISO strings), complete enough to insert and to serve before it is stored.
 */
export interface QueuedMessage extends MessageBase {
  deletedAt?: string;
  deletedById?: number;
}

/** The contract's Message shape: a tombstone says `deleted` and has empty content. */
export interface MessageView extends MessageBase {
  deleted?: true;
}

/** A room list's copy of a room's last message (previewOf): its content cut if long, and then `truncated`. */
export type MessagePreview = MessageView & { truncated?: true };

/** A row as read from PostgreSQL with its sender joined. */
export interface MessageRow {
  id: string;
  chatroomId: number;
  seq: number;
  senderId: number;
  type: MessageType;
  content: string;
  clientMsgId: string | null;
  createdAt: Date;
  editedAt: Date | null;
  deletedAt: Date | null;
  sender: SenderSummary;
}

export function viewOfRow(r: MessageRow): MessageView {
  return view({
    ...r,
    clientMsgId: r.clientMsgId ?? undefined,
    createdAt: r.createdAt.toISOString(),
    editedAt: r.editedAt?.toISOString(),
    deletedAt: r.deletedAt?.toISOString(),
  });
}

/** Tombstones keep their seq and sender but lose their content. */
export function view(m: Omit<QueuedMessage, 'deletedById'>): MessageView {
  const v: MessageView = {
    id: m.id,
    chatroomId: m.chatroomId,
    seq: m.seq,
    senderId: m.senderId,
    sender: m.sender,
    type: m.type,
    content: m.deletedAt ? '' : m.content,
    createdAt: m.createdAt,
  };
  if (m.clientMsgId) v.clientMsgId = m.clientMsgId;
  if (m.editedAt) v.editedAt = m.editedAt;
  if (m.deletedAt) v.deleted = true;
  return v;
}
