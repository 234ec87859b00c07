/**
 * JSON Schemas of the REST responses the client reads (CONTRACT.md "Shapes" and "REST"). The
 * OpenAPI document at /docs-json describes the same routes; these exist so the client's
 * types derive from one written shape, like the socket payloads in schemas.ts.
 */
import { messageSchema, messageTypeSchema } from './schemas.js';

const id = { type: 'integer', minimum: 1 } as const;
const count = { type: 'integer', minimum: 0 } as const;
const timestamp = { type: 'string', format: 'date-time' } as const;

export const publicUserSchema = {
  title: 'PublicUser',
  type: 'object',
  properties: {
    id,
    username: { type: 'string' },
    nickName: { type: 'string' },
    headPic: { type: 'string' },
    createdAt: timestamp,
  },
  required: ['id', 'username', 'nickName', 'headPic', 'createdAt'],
  additionalProperties: false,
} as const;

/** What the user itself and admins see. */
export const userSchema = {
  ...publicUserSchema,
  title: 'User',
  properties: {
    ...publicUserSchema.properties,
    email: { type: ['string', 'null'] },
    role: { type: 'string', enum: ['user', 'admin'] },
  },
  required: [...publicUserSchema.required, 'email', 'role'],
} as const;

export const loginResultSchema = {
  title: 'LoginResult',
  type: 'object',
  properties: { accessToken: { type: 'string' }, user: userSchema },
  required: ['accessToken', 'user'],
  additionalProperties: false,
} as const;

const roomType = { type: 'string', enum: ['direct', 'group'] } as const;

/** A room's last message as the room lists carry it: a long content is cut. */
export const messagePreviewSchema = {
  ...messageSchema,
  title: 'MessagePreview',
  description:
    'The room’s last message. Its content is cut to 500 characters as JSON writes them (a control character counts six, `"` and `\\` two), and then `truncated` is true: history has the message whole.',
  properties: {
    ...messageSchema.properties,
    truncated: { const: true },
  },
} as const;

export const chatroomSchema = {
  title: 'Chatroom',
  type: 'object',
  properties: {
    id,
    name: { type: 'string' },
    type: roomType,
    createdAt: timestamp,
    memberCount: count,
    lastSeq: count,
    readSeq: count,
    unreadCount: count,
    lastMessage: messagePreviewSchema,
  },
  required: ['id', 'name', 'type', 'createdAt', 'memberCount', 'lastSeq', 'readSeq', 'unreadCount'],
  additionalProperties: false,
} as const;

export const chatroomMemberSchema = {
  title: 'ChatroomMember',
  type: 'object',
  properties: {
    user: publicUserSchema,
    role: { type: 'string', enum: ['owner', 'admin', 'member'] },
    readSeq: count,
    online: { type: 'boolean' },
  },
  required: ['user', 'role', 'readSeq', 'online'],
  additionalProperties: false,
} as const;

export const chatroomDetailSchema = {
  ...chatroomSchema,
  title: 'ChatroomDetail',
  properties: { ...chatroomSchema.properties, members: { type: 'array', items: chatroomMemberSchema } },
  required: [...chatroomSchema.required, 'members'],
} as const;

export const inboxSchema = {
  title: 'Inbox',
  type: 'object',
  properties: {
    totalUnread: count,
    rooms: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          chatroomId: id,
          name: { type: 'string' },
          type: roomType,
          unreadCount: count,
          readSeq: count,
          lastSeq: count,
          lastMessage: messagePreviewSchema,
        },
        required: ['chatroomId', 'name', 'type', 'unreadCount', 'readSeq', 'lastSeq'],
        additionalProperties: false,
      },
    },
  },
  required: ['totalUnread', 'rooms'],
  additionalProperties: false,
} as const;

export const readResultSchema = {
  title: 'ReadResult',
  type: 'object',
  properties: {
    totalUnread: count,
    rooms: {
      type: 'array',
      items: {
        type: 'object',
        properties: { chatroomId: id, unreadCount: count, readSeq: count },
        required: ['chatroomId', 'unreadCount', 'readSeq'],
        additionalProperties: false,
      },
    },
  },
  required: ['totalUnread', 'rooms'],
  additionalProperties: false,
} as const;

/** A Message plus one more field. */
const messageWith = <const T extends string, const K extends string, const S>(title: T, key: K, schema: S) =>
  ({
    ...messageSchema,
    title,
    properties: { ...messageSchema.properties, [key]: schema } as typeof messageSchema.properties & { [P in K]: S },
    required: [...messageSchema.required, key],
  }) as const;

export const inboxMessageSchema = messageWith('InboxMessage', 'read', { type: 'boolean' } as const);
export const sentMessageSchema = messageWith('SentMessage', 'readCount', count);

export const receiptSchema = {
  title: 'Receipt',
  type: 'object',
  properties: { userId: id, read: { type: 'boolean' } },
  required: ['userId', 'read'],
  additionalProperties: false,
} as const;

export const adminMessageSchema = {
  ...messageSchema,
  title: 'AdminMessage',
  properties: {
    ...messageSchema.properties,
    room: {
      type: 'object',
      properties: { id, name: { type: 'string' }, type: roomType },
      required: ['id', 'name', 'type'],
      additionalProperties: false,
    },
    receipts: { type: 'array', items: receiptSchema },
  },
  required: [...messageSchema.required, 'room', 'receipts'],
} as const;

/** `{items, hasMore, nextCursor?}` around any item schema. */
export function pageSchema<const Title extends string, const Item>(title: Title, items: Item) {
  return {
    title,
    type: 'object',
    properties: { items: { type: 'array', items }, hasMore: { type: 'boolean' }, nextCursor: { type: 'string' } },
    required: ['items', 'hasMore'],
    additionalProperties: false,
  } as const;
}

export const messagePageSchema = pageSchema('MessagePage', messageSchema);
export const inboxMessagePageSchema = pageSchema('InboxMessagePage', inboxMessageSchema);
export const sentMessagePageSchema = pageSchema('SentMessagePage', sentMessageSchema);
export const adminMessagePageSchema = pageSchema('AdminMessagePage', messageSchema);

export { messageTypeSchema };
