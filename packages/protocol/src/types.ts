/** TypeScript types derived from the schemas: nothing here restates a shape. */
import type { FromSchema } from 'json-schema-to-ts';
import type { clientEvents, serverEvents } from './catalog.js';
import type * as R from './rest-schemas.js';
import type * as S from './schemas.js';

export type Message = FromSchema<typeof S.messageSchema>;
export type MessagePreview = FromSchema<typeof R.messagePreviewSchema>;
export type MessageType = FromSchema<typeof S.messageTypeSchema>;
export type Sender = FromSchema<typeof S.senderSchema>;
export type ErrorBody = FromSchema<typeof S.errorSchema>;

// Each payload type is an interface-backed alias of its schema. The event tables below are
// written as interfaces (names only, cheap for the compiler); the checks under them make sure
// they list exactly the events of catalog.ts, with exactly the catalog's schemas.
export type JoinRoomPayload = FromSchema<typeof S.joinRoomPayloadSchema>;
export type LeaveRoomPayload = FromSchema<typeof S.leaveRoomPayloadSchema>;
export type SendMessagePayload = FromSchema<typeof S.sendMessagePayloadSchema>;
export type SyncPayload = FromSchema<typeof S.syncPayloadSchema>;
export type MarkReadPayload = FromSchema<typeof S.markReadPayloadSchema>;
export type TypingPayload = FromSchema<typeof S.typingPayloadSchema>;

export type JoinRoomData = FromSchema<typeof S.joinRoomDataSchema>;
export type RoomRef = FromSchema<typeof S.roomRefDataSchema>;
export type SyncRoomResult = FromSchema<typeof S.syncRoomResultSchema>;
export type SyncData = FromSchema<typeof S.syncDataSchema>;
export type MarkReadData = FromSchema<typeof S.markReadDataSchema>;

export type TimelineEventPayload = FromSchema<typeof S.timelineEventSchema>;
export type ReadEvent = FromSchema<typeof S.readEventSchema>;
export type InboxEvent = FromSchema<typeof S.inboxEventSchema>;
export type TypingEvent = FromSchema<typeof S.typingEventSchema>;
export type PresenceEvent = FromSchema<typeof S.presenceEventSchema>;
export type ExceptionEvent = FromSchema<typeof S.exceptionEventSchema>;

/** Payload of each client event. */
export interface ClientPayloads {
  joinRoom: JoinRoomPayload;
  leaveRoom: LeaveRoomPayload;
  sendMessage: SendMessagePayload;
  sync: SyncPayload;
  markRead: MarkReadPayload;
  typing: TypingPayload;
}
/** `data` of each client event's successful ack. */
export interface AckData {
  joinRoom: JoinRoomData;
  leaveRoom: RoomRef;
  sendMessage: Message;
  sync: SyncData;
  markRead: MarkReadData;
  typing: RoomRef;
}
/** The full ack envelope of a client event. */
export type Ack<E extends keyof AckData> = { ok: true; data: AckData[E] } | { ok: false; error: ErrorBody };
/** Payload of each server event. */
export interface ServerPayloads {
  message: TimelineEventPayload;
  read: ReadEvent;
  inbox: InboxEvent;
  typing: TypingEvent;
  presence: PresenceEvent;
  exception: ExceptionEvent;
}

type ClientCatalog = typeof clientEvents;
type ServerCatalog = typeof serverEvents;
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Assert<T extends true> = T;
export type _ClientPayloadsMatchCatalog = Assert<
  Same<ClientPayloads, { [E in keyof ClientCatalog]: FromSchema<ClientCatalog[E]['payload']> }>
>;
export type _AckDataMatchesCatalog = Assert<
  Same<AckData, { [E in keyof ClientCatalog]: FromSchema<ClientCatalog[E]['data']> }>
>;
export type _ServerPayloadsMatchCatalog = Assert<
  Same<ServerPayloads, { [E in keyof ServerCatalog]: FromSchema<ServerCatalog[E]['payload']> }>
>;

/** Typed maps for `Socket<ServerToClientEvents, ClientToServerEvents>`. */
export type ServerToClientEvents = { [E in keyof ServerPayloads]: (payload: ServerPayloads[E]) => void };
export type ClientToServerEvents = {
  [E in keyof ClientPayloads]: (payload: ClientPayloads[E], ack: (res: Ack<E>) => void) => void;
};

// REST
export type PublicUser = FromSchema<typeof R.publicUserSchema>;
export type User = FromSchema<typeof R.userSchema>;
export type LoginResult = FromSchema<typeof R.loginResultSchema>;
export type Chatroom = FromSchema<typeof R.chatroomSchema>;
export type ChatroomDetail = FromSchema<typeof R.chatroomDetailSchema>;
export type ChatroomMember = FromSchema<typeof R.chatroomMemberSchema>;
export type Inbox = FromSchema<typeof R.inboxSchema>;
export type ReadResult = FromSchema<typeof R.readResultSchema>;
export type InboxMessage = FromSchema<typeof R.inboxMessageSchema>;
export type SentMessage = FromSchema<typeof R.sentMessageSchema>;
export type Receipt = FromSchema<typeof R.receiptSchema>;
export type AdminMessage = FromSchema<typeof R.adminMessageSchema>;
export interface Page<T> {
  items: T[];
  hasMore: boolean;
  nextCursor?: string;
}
