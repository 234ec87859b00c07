export { ChatApi, type AdminMessageQuery, type ApiOptions, type CursorQuery } from './api.js';
export {
  ChatClient,
  NoAckError,
  type ChatClientEvents,
  type ChatClientOptions,
  type MemberEvent,
  type MessageUpdate,
} from './client.js';
export { ChatError } from './errors.js';
export { newClientMsgId, type OutgoingMessage, type OutgoingState } from './outgoing.js';
export type { PacingOptions } from './pacer.js';
export type * from '@chat-backend/protocol';
export { ClientEvent, ServerEvent, TimelineEvent, ERROR_CODES } from '@chat-backend/protocol';
