/**
 * Every socket.io event name of the public interface. The server (src/common/constants.ts),
 * its AsyncAPI document and the client all read them from here, so renaming one is a
 * breaking change that shows up everywhere at once.
 */

/** Events a client sends; each takes an acknowledgement callback. */
export const ClientEvent = {
  JoinRoom: 'joinRoom',
  LeaveRoom: 'leaveRoom',
  SendMessage: 'sendMessage',
  Sync: 'sync',
  MarkRead: 'markRead',
  Typing: 'typing',
} as const;
export type ClientEventName = (typeof ClientEvent)[keyof typeof ClientEvent];

/** Events the server emits. */
export const ServerEvent = {
  Message: 'message',
  Read: 'read',
  Inbox: 'inbox',
  Typing: 'typing',
  Presence: 'presence',
  Exception: 'exception',
} as const;
export type ServerEventName = (typeof ServerEvent)[keyof typeof ServerEvent];

/** `type` of a `message` event: the room timeline. */
export const TimelineEvent = {
  JoinRoom: 'joinRoom',
  LeaveRoom: 'leaveRoom',
  SendMessage: 'sendMessage',
  EditMessage: 'editMessage',
  DeleteMessage: 'deleteMessage',
} as const;
export type TimelineEventType = (typeof TimelineEvent)[keyof typeof TimelineEvent];

/** Machine-readable error codes (REST bodies and socket acks). */
export const ERROR_CODES = [
  'UNAUTHORIZED',
  'FORBIDDEN',
  'NOT_FOUND',
  'VALIDATION_FAILED',
  'CONFLICT',
  'RATE_LIMITED',
  'PAYLOAD_TOO_LARGE',
  'UNAVAILABLE',
  'INTERNAL',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

/** The `message` of the handshake's `connect_error` when the token is missing or bad. */
export const UNAUTHORIZED_HANDSHAKE = 'unauthorized';
/**
 * The `message` of the handshake's `connect_error` when the user already has
 * SOCKETS_PER_USER_MAX sockets on that instance (`data: {code: 'RATE_LIMITED', details: {max}}`).
 */
export const TOO_MANY_CONNECTIONS_HANDSHAKE = 'too many connections';
