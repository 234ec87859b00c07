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

/**
 * The namespace of every Redis name of the service: the identity tag of the PostgreSQL
 * database it serves (database_identity, read at boot by RedisModule). A database that was
 * dropped and recreated, or a second one on the same Redis, gets other counters, dedupe
 * keys, pending buffers, queue and socket.io channels: two histories can never mix. A plain
 * string part (no braces): hash tags come after it.
 */
let namespace: string | undefined;

/** Once per process (per worker thread), before any key is built. */
export function useKeyNamespace(tag: string): void {
  if (!/^[0-9a-z]+$/.test(tag)) throw new Error(`bad key namespace "${tag}"`);
  namespace = tag;
}

export function keyNamespace(): string {
  if (!namespace) throw new Error('Redis key built before the database identity was read (RedisModule)');
  return namespace;
}

const chat = () => `chat:${keyNamespace()}:`;

/**
 * BullMQ's prefix: queue keys are `{bull:<namespace>}:message-persist:...`. The braces are a
 * Redis Cluster hash tag: BullMQ's scripts touch several keys of a queue at once, so they
 * must all live in one slot.
 */
export const queuePrefix = (): string => `{bull:${keyNamespace()}}`;

/**
 * The socket.io adapter's channel prefix. Pub/sub channels belong to the whole Redis server,
 * not to a logical database, so the database number is in it too (database 0 adds nothing).
 */
export const ioChannelPrefix = (redisDb: number): string =>
  `socket.io-${keyNamespace()}${redisDb === 0 ? '' : `-db${redisDb}`}`;

/**
 * A room's hash tag. Every key the send path's script touches at once (seq, pending buffer,
 * dedupe record, edits of queued messages) is a room key, so on a Redis Cluster one room's
 * keys share a slot and rooms spread over the shards.
 */
const room = (chatroomId: number) => `${chat()}{r:${chatroomId}}:`;

/**
 * Redis keys, all under `chat:<namespace>:` so an operator can tell the service's keys apart.
 * Keys that no script combines with others (per user, global sets) carry no hash tag.
 */
export const RedisKeys = {
  /** Next seq of a room (INCR). Never expires: losing it could reuse a seq. */
  roomSeq: (chatroomId: number) => `${room(chatroomId)}seq`,
  /** Acked messages not yet in PostgreSQL, scored by seq (read-your-writes). */
  roomPending: (chatroomId: number) => `${room(chatroomId)}pending`,
  /**
   * `seq:id` of the first message of (sender, clientMsgId) in the room, so a resend gets the
   * same message. A clientMsgId is the sender's within one room (as a Matrix transaction id
   * is per request path): the same one in another room is another message.
   */
  clientMsg: (chatroomId: number, senderId: number, clientMsgId: string) =>
    `${room(chatroomId)}cmid:${senderId}:${clientMsgId}`,
  /** Replaced after a tombstone in the room: members' cached unread counts of it are stale. */
  roomCountsToken: (chatroomId: number) => `${room(chatroomId)}counts`,
  /**
   * Users removed from the room lately, scored by when (ms), kept REMOVAL_WINDOW_MS: the
   * append script refuses their sends whatever an instance's membership cache still says.
   * A room key: the script reads it with the room's others, in their slot.
   */
  roomRemoved: (chatroomId: number) => `${room(chatroomId)}removed`,
  /** A user's sockets in a room's broadcast across instances (joinRoom/leaveRoom timeline). */
  roomAttendance: (chatroomId: number, userId: number) => `${room(chatroomId)}in:${userId}`,
  /**
   * Rooms that may have messages in their pending buffer, scored by when a sender last said
   * so (ms): what the re-enqueue sweeper visits (PendingMessageStore.markDue).
   */
  pendingRooms: () => `${chat()}pending-room-marks`,
  /** Where a queued message is: id → "chatroomId:seq" (edits and retractions act by id). */
  pendingIndex: () => `${chat()}pending-ids`,
  /** A member's cached unread counts per room, with their member tokens (UnreadCache). */
  unreadCounts: (userId: number) => `${chat()}unread:${userId}`,
  /** A user's sockets across instances, with the grace of a count that fell to 0 (presence). */
  presence: (userId: number) => `${chat()}online:${userId}`,
  /** The version of a user's last `inbox` event (InboxVersions): microseconds of Redis's clock, or one more. */
  inboxVersion: (userId: number) => `${chat()}inbox-version:${userId}`,
} as const;

/** Key names of the layout before room hash tags (LegacyKeyMigration renames them). */
export const LegacyRedisKeys = {
  roomKeyPattern: () => `${chat()}room:*`,
  /** `chat:<ns>:room:<id>:<rest>` → the room id and the rest, or null. */
  parse: (key: string): { chatroomId: number; rest: string } | null => {
    const m = new RegExp(`^${chat()}room:(\\d+):(.+)$`).exec(key);
    return m ? { chatroomId: Number(m[1]), rest: m[2] } : null;
  },
  /** A set of room ids (the new key is a sorted set under another name). */
  pendingRooms: () => `${chat()}pending-rooms`,
};
