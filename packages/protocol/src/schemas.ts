/**
 * JSON Schemas (draft 2020-12 subset that AsyncAPI 3 and ajv both read) of every socket.io
 * payload and acknowledgement, and of the REST shapes the client uses. They are `as const`
 * so that types.ts derives the TypeScript types from them (json-schema-to-ts): each shape is
 * written once, here. Objects say `additionalProperties: false`, which keeps the derived types
 * exact and lets the server's e2e test catch an undocumented field.
 */
import { ERROR_CODES, TimelineEvent } from './events.js';

const MAX_INT = 2_147_483_647;
const id = { type: 'integer', minimum: 1, maximum: MAX_INT } as const;
const seq = { type: 'integer', minimum: 0, maximum: MAX_INT } as const;
const count = { type: 'integer', minimum: 0 } as const;
const timestamp = { type: 'string', format: 'date-time' } as const;

// ---------------------------------------------------------------- shared shapes

export const errorSchema = {
  title: 'Error',
  description: 'Why an event or request failed. `details` names the bad fields of a validation error.',
  type: 'object',
  properties: {
    code: { type: 'string', enum: ERROR_CODES },
    message: { type: 'string' },
    details: {},
  },
  required: ['code', 'message'],
  additionalProperties: false,
} as const;

export const senderSchema = {
  title: 'Sender',
  type: 'object',
  properties: {
    id,
    username: { type: 'string' },
    nickName: { type: 'string' },
    headPic: { type: 'string' },
  },
  required: ['id', 'username', 'nickName', 'headPic'],
  additionalProperties: false,
} as const;

export const messageTypeSchema = { type: 'string', enum: ['text', 'image', 'file'] } as const;

export const messageSchema = {
  title: 'Message',
  description:
    'A chat message. `id` is time-ordered, `seq` numbers the room (1, 2, 3, ... without holes). ' +
    'A retracted or moderated message stays as a tombstone: `deleted: true`, `content: ""`.',
  type: 'object',
  properties: {
    id: { type: 'string', minLength: 1 },
    chatroomId: id,
    seq: { type: 'integer', minimum: 1, maximum: MAX_INT },
    senderId: id,
    sender: senderSchema,
    type: messageTypeSchema,
    content: { type: 'string' },
    clientMsgId: { type: 'string' },
    createdAt: timestamp,
    editedAt: timestamp,
    deleted: { const: true },
  },
  required: ['id', 'chatroomId', 'seq', 'senderId', 'sender', 'type', 'content', 'createdAt'],
  additionalProperties: false,
} as const;

// ---------------------------------------------------------------- client → server payloads

const clientMsgId = {
  type: 'string',
  pattern: '^[\\w.:-]{1,64}$',
  description:
    'The client’s id for this message, unique per sender and room: sending it again to the same room returns the first ack’s message (same id and seq, as it is now) and broadcasts nothing.',
} as const;

export const joinRoomPayloadSchema = {
  title: 'JoinRoomPayload',
  type: 'object',
  properties: {
    chatroomId: id,
    userId: { ...id, description: 'Accepted for old clients; must be the caller’s own id.' },
  },
  required: ['chatroomId'],
  additionalProperties: false,
} as const;

export const leaveRoomPayloadSchema = { ...joinRoomPayloadSchema, title: 'LeaveRoomPayload' } as const;

export const sendMessagePayloadSchema = {
  title: 'SendMessagePayload',
  type: 'object',
  properties: {
    chatroomId: id,
    clientMsgId,
    message: {
      type: 'object',
      properties: {
        type: messageTypeSchema,
        content: {
          type: 'string',
          minLength: 1,
          // The server's NOT_BLANK_PATTERN (src/common/input-rules.ts): one visible character.
          pattern: '[^\\s\\p{Default_Ignorable_Code_Point}\\u2800]',
          description:
            'Free text for `text`, kept as sent but not blank (only whitespace, or characters that render as nothing: Unicode default-ignorable code points such as zero-width spaces and joiners, and U+2800); an absolute http(s) URL for `image` and `file` (no credentials, spaces, control or bidirectional characters).',
        },
      },
      required: ['type', 'content'],
      additionalProperties: false,
    },
    sendUserId: { ...id, description: 'Accepted for old clients; must be the caller’s own id.' },
  },
  required: ['chatroomId', 'message'],
  additionalProperties: false,
} as const;

export const syncPayloadSchema = {
  title: 'SyncPayload',
  type: 'object',
  properties: {
    rooms: {
      type: 'array',
      minItems: 1,
      maxItems: 100,
      description: 'Each chatroomId at most once.',
      items: {
        type: 'object',
        properties: { chatroomId: id, afterSeq: seq },
        required: ['chatroomId', 'afterSeq'],
        additionalProperties: false,
      },
    },
    limit: {
      type: 'integer',
      minimum: 1,
      maximum: 500,
      description:
        'Messages per room (default 500). One answer holds at most 500 messages in all, and at most 250,000 characters of them as JSON writes them (200 more per message): rooms that have more share them, each getting at least one, and say `hasMore`.',
    },
  },
  required: ['rooms'],
  additionalProperties: false,
} as const;

export const markReadPayloadSchema = {
  title: 'MarkReadPayload',
  type: 'object',
  properties: { chatroomId: id, seq },
  required: ['chatroomId', 'seq'],
  additionalProperties: false,
} as const;

export const typingPayloadSchema = {
  title: 'TypingPayload',
  type: 'object',
  properties: { chatroomId: id, typing: { type: 'boolean' } },
  required: ['chatroomId', 'typing'],
  additionalProperties: false,
} as const;

// ---------------------------------------------------------------- ack data

export const joinRoomDataSchema = {
  title: 'JoinRoomData',
  type: 'object',
  properties: { chatroomId: id, lastSeq: seq, readSeq: seq },
  required: ['chatroomId', 'lastSeq', 'readSeq'],
  additionalProperties: false,
} as const;

export const roomRefDataSchema = {
  title: 'RoomRef',
  type: 'object',
  properties: { chatroomId: id },
  required: ['chatroomId'],
  additionalProperties: false,
} as const;

export const syncRoomResultSchema = {
  title: 'SyncRoomResult',
  type: 'object',
  properties: {
    chatroomId: id,
    messages: {
      type: 'array',
      items: messageSchema,
      description: 'After `afterSeq`, oldest first, tombstones included.',
    },
    hasMore: { type: 'boolean', description: 'Ask again after the last seq received.' },
    lastSeq: seq,
  },
  required: ['chatroomId', 'messages', 'hasMore', 'lastSeq'],
  additionalProperties: false,
} as const;

export const syncDataSchema = {
  title: 'SyncData',
  type: 'object',
  properties: { rooms: { type: 'array', items: syncRoomResultSchema } },
  required: ['rooms'],
  additionalProperties: false,
} as const;

export const markReadDataSchema = {
  title: 'MarkReadData',
  type: 'object',
  properties: { chatroomId: id, readSeq: seq, unreadCount: count, totalUnread: count },
  required: ['chatroomId', 'readSeq', 'unreadCount', 'totalUnread'],
  additionalProperties: false,
} as const;

/** The failure half of every acknowledgement. */
export const ackErrorSchema = {
  title: 'AckError',
  type: 'object',
  properties: { ok: { const: false }, error: errorSchema },
  required: ['ok', 'error'],
  additionalProperties: false,
} as const;

/** `{ok: true, data}` | `{ok: false, error}` around an event's ack data. */
export function ackSchema<const Title extends string, const Data>(title: Title, data: Data) {
  return {
    title,
    oneOf: [
      {
        type: 'object',
        properties: { ok: { const: true }, data },
        required: ['ok', 'data'],
        additionalProperties: false,
      },
      ackErrorSchema,
    ],
  } as const;
}

// ---------------------------------------------------------------- server → client payloads

/**
 * Several users at once (additive, v2): when many members arrive or leave a room within a
 * moment (a deploy, a class logging in), the server sends one event for all of them instead
 * of one per user, since N arrivals announced one by one cost N² deliveries. Present only
 * when the event stands for two or more users; `userId` is then `userIds[0]`. A client that
 * ignores it sees the first user only; members REST (`online`) stays the state.
 */
const coalescedUserIds = {
  type: 'array',
  items: id,
  minItems: 2,
  uniqueItems: true,
  description:
    'Every user this event stands for (the first is `userId`), when several changed at once; absent for one user.',
} as const;

const membershipEvent = <const T extends string>(type: T) =>
  ({
    title: `${type}Event`,
    type: 'object',
    properties: { type: { const: type }, chatroomId: id, userId: id, userIds: coalescedUserIds },
    required: ['type', 'chatroomId', 'userId'],
    additionalProperties: false,
  }) as const;

const messageEvent = <const T extends string>(type: T, description: string) =>
  ({
    title: `${type}Event`,
    description,
    type: 'object',
    properties: { type: { const: type }, chatroomId: id, userId: id, message: messageSchema },
    required: ['type', 'chatroomId', 'userId', 'message'],
    additionalProperties: false,
  }) as const;

export const timelineEventSchema = {
  title: 'TimelineEvent',
  description: 'The `message` event: one entry of a room’s timeline, to the sockets that joined the room.',
  oneOf: [
    membershipEvent(TimelineEvent.JoinRoom),
    membershipEvent(TimelineEvent.LeaveRoom),
    messageEvent(TimelineEvent.SendMessage, 'A new message; `userId` is its sender.'),
    messageEvent(TimelineEvent.EditMessage, 'The message as edited; `userId` is the editor.'),
    messageEvent(TimelineEvent.DeleteMessage, 'The tombstone (`deleted: true`); `userId` retracted or moderated it.'),
  ],
} as const;

export const readEventSchema = {
  title: 'ReadEvent',
  description: 'A member’s read position in a room moved.',
  type: 'object',
  properties: { chatroomId: id, userId: id, seq },
  required: ['chatroomId', 'userId', 'seq'],
  additionalProperties: false,
} as const;

export const inboxEventSchema = {
  title: 'InboxEvent',
  description: 'Unread counts changed: to the reader’s own sockets, and to members outside a room that got messages.',
  type: 'object',
  properties: {
    chatroomId: id,
    unreadCount: count,
    totalUnread: count,
    version: {
      type: 'integer',
      minimum: 1,
      description:
        'Increases with each of the user’s inbox events, across instances: keep the counts of the highest version seen (two recounts can arrive in either order).',
    },
  },
  required: ['chatroomId', 'unreadCount', 'totalUnread', 'version'],
  additionalProperties: false,
} as const;

export const typingEventSchema = {
  title: 'TypingEvent',
  type: 'object',
  properties: { chatroomId: id, userId: id, typing: { type: 'boolean' } },
  required: ['chatroomId', 'userId', 'typing'],
  additionalProperties: false,
} as const;

export const presenceEventSchema = {
  title: 'PresenceEvent',
  description: 'A user’s first socket connected or last socket left (any instance).',
  type: 'object',
  properties: { userId: id, online: { type: 'boolean' }, userIds: coalescedUserIds },
  required: ['userId', 'online'],
  additionalProperties: false,
} as const;

export const exceptionEventSchema = {
  title: 'ExceptionEvent',
  description: 'An event sent without an acknowledgement callback failed.',
  type: 'object',
  properties: { event: { type: 'string' }, ...errorSchema.properties },
  required: ['event', 'code', 'message'],
  additionalProperties: false,
} as const;

export const connectErrorSchema = {
  title: 'ConnectError',
  description:
    'The handshake was refused: `unauthorized` (no token, or a bad, expired or revoked one) or ' +
    '`too many connections` (the user already has SOCKETS_PER_USER_MAX sockets on that instance; ' +
    '`data` says RATE_LIMITED and the limit).',
  type: 'object',
  properties: {
    message: { enum: ['unauthorized', 'too many connections'] },
    data: {
      type: 'object',
      properties: {
        code: { const: 'RATE_LIMITED' },
        details: { type: 'object', properties: { max: { type: 'integer' } } },
      },
    },
  },
  required: ['message'],
} as const;
