/**
 * Every socket.io event name, queue name and Redis key prefix of the service, in one place.
 * Clients program against these strings (see CONTRACT.md), so renaming one is a breaking change.
 */

// Client and server event names and the timeline types are part of the public interface:
// they live in the protocol package, next to their payload schemas, shared with the client.
export { ClientEvent, ServerEvent, TimelineEvent } from '@chat-backend/protocol';

/** Server-to-server event (socket.io serverSideEmit): forget a cached membership. */
export const PEER_EVICT_MEMBERSHIP = 'chat:evict-membership';
/** Server-to-server event: a room had new messages (for `inbox` to members not in the room). */
export const PEER_ROOM_ACTIVITY = 'chat:room-activity';
/** Server-to-server event: an instance started (the others publish broadcasts from now on). */
export const PEER_HELLO = 'chat:instance-hello';

/** BullMQ queues and job names. */
export const Queues = {
  MessagePersist: 'message-persist',
} as const;

export const Jobs = {
  PersistBatch: 'persist-batch',
} as const;

/** socket.io rooms: a user's own sockets, and a chatroom's broadcast. */
export const userChannel = (userId: number): string => `user:${userId}`;
export const roomChannel = (chatroomId: number): string => `room:${chatroomId}`;

/** Redis keys. One prefix so an operator can tell the service's keys apart. */
export const RedisKeys = {
  /** Next seq of a room (INCR). Never expires: losing it could reuse a seq. */
  roomSeq: (chatroomId: number) => `chat:room:${chatroomId}:seq`,
  /** Acked messages not yet in PostgreSQL, scored by seq (read-your-writes). */
  roomPending: (chatroomId: number) => `chat:room:${chatroomId}:pending`,
  /** First ack of (sender, clientMsgId), so a resend gets the same answer. */
  clientMsg: (senderId: number, clientMsgId: string) => `chat:cmid:${senderId}:${clientMsgId}`,
  /** Where a pending message is: id → "chatroomId:seq" (edits and retractions act by id). */
  pendingIndex: 'chat:pending-ids',
  /** An edit or retraction of a message that was still queued, applied again once stored. */
  mutation: (messageId: string) => `chat:mutation:${messageId}`,
  /** Replaced after a tombstone in the room: members' cached unread counts of it are stale. */
  roomCountsToken: (chatroomId: number) => `chat:room:${chatroomId}:counts`,
  /** A member's cached unread counts per room, with their member tokens (UnreadCache). */
  unreadCounts: (userId: number) => `chat:unread:${userId}`,
  /** Online socket count of a user across instances (presence). */
  presence: (userId: number) => `chat:presence:${userId}`,
} as const;
