import type { Message, MessageType } from '@chat-backend/protocol';
import type { ChatError } from './errors.js';

export type OutgoingState = 'pending' | 'acked' | 'failed';

/** A message this client sends, from `send()` until its ack (or failure). */
export interface OutgoingMessage {
  readonly clientMsgId: string;
  readonly chatroomId: number;
  readonly type: MessageType;
  readonly content: string;
  /** pending → acked, or pending → failed (and failed → pending again on `retry`). */
  state: OutgoingState;
  /** How many times it was put on the wire (resends keep the same clientMsgId). */
  attempts: number;
  /** The stored message, once acked (its `id` and `seq`). */
  message?: Message;
  /** Why it failed (the ack's error code), once failed. */
  error?: ChatError;
  /** Resolves with the stored message; rejects with the ChatError if it fails. */
  readonly acked: Promise<Message>;
}

/** The mutable record behind an OutgoingMessage. */
export interface OutgoingRecord extends OutgoingMessage {
  /** Sent and waiting for its ack. */
  onWire: boolean;
  /** Number of the latest attempt: answers to older ones are ignored. */
  inflight: number;
  settle: { resolve: (m: Message) => void; reject: (e: ChatError) => void };
}

export function newOutgoing(
  chatroomId: number,
  type: MessageType,
  content: string,
  clientMsgId: string,
): OutgoingRecord {
  const rec = {
    clientMsgId,
    chatroomId,
    type,
    content,
    state: 'pending',
    attempts: 0,
    inflight: 0,
    onWire: false,
  } as OutgoingRecord;
  resetPromise(rec);
  return rec;
}

/** A fresh `acked` promise (first send, or a retry after failure). Never an unhandled rejection. */
export function resetPromise(rec: OutgoingRecord): void {
  const acked = new Promise<Message>((resolve, reject) => {
    rec.settle = { resolve, reject };
  });
  acked.catch(() => undefined);
  (rec as { acked: Promise<Message> }).acked = acked;
}

/** crypto.randomUUID where available (Node 19+, secure browser contexts), else random hex. */
export function newClientMsgId(): string {
  const c = (globalThis as { crypto?: Crypto }).crypto;
  if (c && typeof c.randomUUID === 'function') return c.randomUUID();
  const bytes = new Uint8Array(16);
  if (c?.getRandomValues) c.getRandomValues(bytes);
  else for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(Math.random() * 256);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}
