/**
 * The socket.io interface as data: for every client event its payload and ack schemas, for
 * every server event its payload schema. The server builds its AsyncAPI document from this,
 * and types.ts maps it to the client's typed event tables.
 */
import { ClientEvent, ServerEvent } from './events.js';
import {
  ackSchema,
  exceptionEventSchema,
  inboxEventSchema,
  joinRoomDataSchema,
  joinRoomPayloadSchema,
  leaveRoomPayloadSchema,
  markReadDataSchema,
  markReadPayloadSchema,
  messageSchema,
  presenceEventSchema,
  readEventSchema,
  roomRefDataSchema,
  sendMessagePayloadSchema,
  syncDataSchema,
  syncPayloadSchema,
  timelineEventSchema,
  typingEventSchema,
  typingPayloadSchema,
} from './schemas.js';

export const clientEvents = {
  [ClientEvent.JoinRoom]: {
    summary:
      'Start getting a room’s broadcast (members only): from the ack on, every message after its `lastSeq` arrives live. The room gets `message {type: "joinRoom"}`.',
    payload: joinRoomPayloadSchema,
    data: joinRoomDataSchema,
    ack: ackSchema('JoinRoomAck', joinRoomDataSchema),
  },
  [ClientEvent.LeaveRoom]: {
    summary: 'Stop this socket’s room broadcast; membership is unchanged.',
    payload: leaveRoomPayloadSchema,
    data: roomRefDataSchema,
    ack: ackSchema('LeaveRoomAck', roomRefDataSchema),
  },
  [ClientEvent.SendMessage]: {
    summary:
      'Send a message. The ack is the stored Message with `id` and `seq` (acked means durable); the room gets ' +
      '`message {type: "sendMessage"}`. A resend with the same `clientMsgId` returns the first ack’s message (same id and seq, as it is now: edits show) and broadcasts nothing.',
    payload: sendMessagePayloadSchema,
    data: messageSchema,
    ack: ackSchema('SendMessageAck', messageSchema),
  },
  [ClientEvent.Sync]: {
    summary:
      'Everything after each room’s `afterSeq`, tombstones included, oldest first, plus the room’s last seq. ' +
      'If any room is not the caller’s, nothing is answered but `NOT_FOUND` whose `details` name each such room ' +
      '(`rooms[i].chatroomId`): drop those and sync the rest.',
    payload: syncPayloadSchema,
    data: syncDataSchema,
    ack: ackSchema('SyncAck', syncDataSchema),
  },
  [ClientEvent.MarkRead]: {
    summary: 'Mark everything up to `seq` read; the room gets `read`, the reader’s sockets get `inbox`.',
    payload: markReadPayloadSchema,
    data: markReadDataSchema,
    ack: ackSchema('MarkReadAck', markReadDataSchema),
  },
  [ClientEvent.Typing]: {
    summary: 'Other sockets in the room get `typing {chatroomId, userId, typing}`.',
    payload: typingPayloadSchema,
    data: roomRefDataSchema,
    ack: ackSchema('TypingAck', roomRefDataSchema),
  },
} as const;

export const serverEvents = {
  [ServerEvent.Message]: {
    summary:
      'Room timeline (to sockets that joined the room): joinRoom, leaveRoom, sendMessage, editMessage, deleteMessage.',
    payload: timelineEventSchema,
  },
  [ServerEvent.Read]: { summary: 'A member read up to `seq` (to the room).', payload: readEventSchema },
  [ServerEvent.Inbox]: { summary: 'Unread counts of one room and in total changed.', payload: inboxEventSchema },
  [ServerEvent.Typing]: { summary: 'Someone in the room started or stopped typing.', payload: typingEventSchema },
  [ServerEvent.Presence]: {
    summary: 'A user who shares a joined room came online or went offline.',
    payload: presenceEventSchema,
  },
  [ServerEvent.Exception]: {
    summary: 'A client event sent without an acknowledgement callback failed.',
    payload: exceptionEventSchema,
  },
} as const;
