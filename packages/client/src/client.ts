import {
  type Ack,
  type AckData,
  ClientEvent,
  type ClientPayloads,
  type ExceptionEvent,
  type InboxEvent,
  type JoinRoomData,
  type MarkReadData,
  type Message,
  type MessageType,
  type PresenceEvent,
  type ReadEvent,
  ServerEvent,
  type SyncRoomResult,
  type TimelineEventPayload,
  TimelineEvent,
  type TypingEvent,
  TOO_MANY_CONNECTIONS_HANDSHAKE,
  UNAUTHORIZED_HANDSHAKE,
} from '@chat-backend/protocol';
import { io, type ManagerOptions, type Socket, type SocketOptions } from 'socket.io-client';
import { ChatApi } from './api.js';
import { TypedEmitter } from './emitter.js';
import { ChatError } from './errors.js';
import { newClientMsgId, newOutgoing, type OutgoingMessage, type OutgoingRecord, resetPromise } from './outgoing.js';
import { Pacer, type PacingOptions } from './pacer.js';
import { RoomTracker } from './rooms.js';

export interface ChatClientOptions {
  /** The server's origin, e.g. `http://localhost:3000`; in a page served by the server, defaults to its origin. */
  url?: string;
  /** An access token; `api.login()` sets one too. */
  token?: string;
  fetch?: typeof fetch;
  /** Passed to socket.io-client's `io()` (defaults: websocket transport, endless reconnection). */
  socketOptions?: Partial<ManagerOptions & SocketOptions>;
  /** How long an event waits for its ack before it is resent (sends) or fails (others). Default 10 s. */
  ackTimeoutMs?: number;
  /** Messages per room per sync round trip (1–500, default 500). */
  syncLimit?: number;
  /** A gap seen only through an ack (not a broadcast) is synced after this grace. Default 250 ms. */
  gapGraceMs?: number;
  /**
   * Put a room's sends on the wire one at a time, so they get seqs in the order they were sent
   * (the server numbers concurrent sends in whatever order it finishes them). Default true;
   * false pipelines them for throughput.
   */
  orderedSends?: boolean;
  /**
   * How joins, leaves, the rejoin after a reconnect and syncs spend the server's per-socket
   * event budget (default 40 a second, bursts of 400, 8 in flight; `RATE_LIMITED` is waited
   * out as told, up to 20 times). Raise it only along with the server's `SOCKET_EVENT_*`.
   */
  pacing?: PacingOptions;
  /**
   * The server's `WS_MAX_PAYLOAD_BYTES` (default 64 KiB). The server closes a connection that
   * sends a larger frame, with no answer the client could tell from a network drop (and a
   * client that resends it after reconnecting loops); an event whose frame would be larger
   * is refused here instead, PAYLOAD_TOO_LARGE, without being sent.
   */
  maxPayloadBytes?: number;
}

/** What socket.io adds around an event's JSON: `42` and the ack id (ten digits at most in practice). */
const PACKET_OVERHEAD_BYTES = 12;
const utf8 = new TextEncoder();

/** Membership entries of a room's timeline. */
export type MemberEvent = Extract<TimelineEventPayload, { type: 'joinRoom' | 'leaveRoom' }>;
/** An edit or a retraction of a message already delivered. */
export type MessageUpdate = Extract<TimelineEventPayload, { type: 'editMessage' | 'deleteMessage' }>;

export interface ChatClientEvents {
  /** A room's messages, each exactly once and in seq order (tombstones included). */
  message: (message: Message) => void;
  /** A delivered message was edited or retracted (the message is the new version). */
  messageUpdated: (update: MessageUpdate) => void;
  /** Someone joined or left a room's broadcast. */
  member: (event: MemberEvent) => void;
  /** One of my sends changed state: pending → acked | failed. */
  messageState: (message: OutgoingMessage) => void;
  read: (event: ReadEvent) => void;
  inbox: (event: InboxEvent) => void;
  typing: (event: TypingEvent) => void;
  presence: (event: PresenceEvent) => void;
  /** An event emitted without ack failed on the server (`exception`); `event` names it. */
  exception: (error: ChatError, event: string) => void;
  connect: () => void;
  disconnect: (reason: string) => void;
  /** The handshake failed: `UNAUTHORIZED` (bad token; no automatic retry) or `UNAVAILABLE`. */
  connectError: (error: ChatError) => void;
  /** A background step failed (rejoin or sync after a reconnect or gap); it is retried on the next one. */
  error: (error: ChatError) => void;
}

/**
 * The socket is typed loosely inside: socket.io's generic event maps over these schema-derived
 * payloads are too deep for the compiler. Handlers below name their payload types instead.
 */
type ChatSocket = Socket;
type ClientEventName = keyof ClientPayloads;

const SYNC_ROOMS_PER_CALL = 100;

/**
 * A chat session: REST through `api`, live events through one socket.io connection.
 * For every joined room it keeps the last delivered seq, so that each message reaches the
 * application once and in order: broadcasts ahead of a gap wait until `sync` fills it, and
 * after a reconnect it re-joins its rooms, syncs what was missed and resends unacked sends
 * with their original `clientMsgId` (the server answers a resend with the first ack).
 */
export class ChatClient extends TypedEmitter<ChatClientEvents> {
  readonly api: ChatApi;
  /** The underlying socket.io socket (created by `connect()`). */
  socket: ChatSocket | undefined;
  private readonly opts: Required<
    Pick<ChatClientOptions, 'url' | 'ackTimeoutMs' | 'syncLimit' | 'gapGraceMs' | 'orderedSends' | 'maxPayloadBytes'>
  > &
    ChatClientOptions;
  private readonly rooms = new Map<number, RoomTracker>();
  private readonly outgoing = new Map<string, OutgoingRecord>();
  private readonly pacer: Pacer;
  /** Counts connections: a resume() stops once its connection is gone. */
  private connection = 0;
  /** The highest `inbox` version seen: counts of a lower one are older (see onInbox). */
  private inboxVersion = 0;
  /** Read positions announced, per `room:user`: positions only move forward (see onRead). */
  private readonly readSeqs = new Map<string, number>();

  constructor(options: ChatClientOptions = {}) {
    super();
    const url = options.url ?? (globalThis as { location?: { origin?: string } }).location?.origin;
    if (!url) throw new Error('ChatClient needs options.url outside a browser page');
    this.opts = {
      ackTimeoutMs: 10_000,
      syncLimit: 500,
      gapGraceMs: 250,
      orderedSends: true,
      maxPayloadBytes: 64 * 1024,
      ...options,
      url,
    };
    this.api = new ChatApi({ url, token: options.token, fetch: options.fetch });
    this.pacer = new Pacer(options.pacing);
  }

  get connected(): boolean {
    return this.socket?.connected ?? false;
  }

  /** Rooms this client tracks, with the last seq it delivered in each. */
  get joinedRooms(): { chatroomId: number; lastSeq: number | undefined }[] {
    return [...this.rooms.values()].map((r) => ({ chatroomId: r.chatroomId, lastSeq: r.lastSeq }));
  }

  /** My sends that are not acked yet (pending or failed). */
  get unacked(): OutgoingMessage[] {
    return [...this.outgoing.values()].filter((o) => o.state !== 'acked');
  }

  /**
   * Opens the socket (token from `api.token`, read again at every reconnect). Resolves once
   * connected; rejects with `UNAUTHORIZED` if the token is refused, or with the first
   * connection error (socket.io keeps retrying those in the background).
   */
  connect(): Promise<void> {
    if (!this.socket) this.socket = this.createSocket();
    const socket = this.socket;
    if (socket.connected) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const offOk = this.once('connect', () => {
        offErr();
        resolve();
      });
      const offErr = this.once('connectError', (err) => {
        offOk();
        reject(err);
      });
      socket.connect(); // a no-op while socket.io is already reconnecting
    });
  }

  /** Closes the socket. Rooms and unacked sends are kept for the next `connect()`. */
  disconnect(): void {
    this.socket?.disconnect();
  }

  /** Sets the token for REST and the next handshake. */
  setToken(token: string | undefined): void {
    this.api.token = token;
  }

  /**
   * Joins a room's broadcast and starts tracking it. Delivery starts after the room's
   * current last seq, or after `afterSeq` if given (the missing part is synced first).
   */
  async joinRoom(chatroomId: number, opts: { afterSeq?: number } = {}): Promise<JoinRoomData> {
    const known = this.rooms.get(chatroomId);
    const room = known ?? new RoomTracker(chatroomId);
    if (!known) this.rooms.set(chatroomId, room);
    try {
      const data = await this.patientRequest(ClientEvent.JoinRoom, { chatroomId });
      if (room.lastSeq === undefined) this.deliver(room.start(opts.afterSeq ?? data.lastSeq));
      if (data.lastSeq > (room.lastSeq ?? 0) || room.hasGap) void this.sync([room]);
      return data;
    } catch (err) {
      if (!known) this.rooms.delete(chatroomId);
      throw err;
    }
  }

  /** Leaves the room's broadcast and stops tracking it. */
  async leaveRoom(chatroomId: number): Promise<void> {
    const room = this.rooms.get(chatroomId);
    this.rooms.delete(chatroomId);
    if (room?.gapTimer) clearTimeout(room.gapTimer);
    await this.patientRequest(ClientEvent.LeaveRoom, { chatroomId });
  }

  /**
   * Sends a message. Returns at once with its record in state `pending`; it becomes `acked`
   * (with `message.id` and `seq`) or `failed` (with `error.code`), announced by `messageState`.
   * Unacked sends are resent with the same `clientMsgId` after a reconnect or ack timeout.
   */
  send(chatroomId: number, content: string, opts: { type?: MessageType; clientMsgId?: string } = {}): OutgoingMessage {
    const rec = newOutgoing(chatroomId, opts.type ?? 'text', content, opts.clientMsgId ?? newClientMsgId());
    this.outgoing.set(rec.clientMsgId, rec);
    this.emit('messageState', rec);
    this.pump();
    return rec;
  }

  /** Sends a failed message again, same `clientMsgId`. */
  retry(clientMsgId: string): OutgoingMessage {
    const rec = this.outgoing.get(clientMsgId);
    if (!rec) throw new ChatError('NOT_FOUND', `No outgoing message ${clientMsgId}`);
    if (rec.state === 'failed') {
      rec.state = 'pending';
      rec.error = undefined;
      resetPromise(rec);
      this.outgoing.delete(clientMsgId); // to the back of the line
      this.outgoing.set(clientMsgId, rec);
      this.emit('messageState', rec);
      this.pump();
    }
    return rec;
  }

  /** Forgets a failed message (it is not resent). */
  discard(clientMsgId: string): void {
    if (this.outgoing.get(clientMsgId)?.state !== 'pending') this.outgoing.delete(clientMsgId);
  }

  markRead(chatroomId: number, seq: number): Promise<MarkReadData> {
    return this.request(ClientEvent.MarkRead, { chatroomId, seq });
  }

  setTyping(chatroomId: number, typing: boolean): Promise<AckData['typing']> {
    return this.request(ClientEvent.Typing, { chatroomId, typing });
  }

  /** Any client event with its typed payload; resolves with the ack's data or rejects with ChatError. */
  request<E extends ClientEventName>(event: E, payload: ClientPayloads[E]): Promise<AckData[E]> {
    const socket = this.socket;
    if (!socket?.connected) return Promise.reject(new ChatError('UNAVAILABLE', 'Not connected'));
    let bytes: number;
    try {
      bytes = utf8.encode(JSON.stringify([event, payload])).length + PACKET_OVERHEAD_BYTES;
    } catch (err) {
      // A BigInt or a cycle: socket.io could not send it either.
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    if (bytes > this.opts.maxPayloadBytes) {
      return Promise.reject(
        new ChatError(
          'PAYLOAD_TOO_LARGE',
          `The ${event} event is ${bytes} bytes; the server takes at most ${this.opts.maxPayloadBytes}`,
          {
            bytes,
            maxPayloadBytes: this.opts.maxPayloadBytes,
          },
        ),
      );
    }
    // socket.io's typed emit cannot follow a generic event name; the payload is typed above.
    const timed = socket.timeout(this.opts.ackTimeoutMs) as unknown as {
      emit(ev: string, p: unknown, cb: (err: Error | null, res: Ack<E>) => void): void;
    };
    return new Promise((resolve, reject) => {
      timed.emit(event, payload, (err, res) => {
        if (err) reject(new NoAckError(event, err.message));
        else if (res.ok) resolve(res.data);
        else reject(ChatError.from(res.error));
      });
    });
  }

  // ------------------------------------------------------------------ internals

  /**
   * `request` for joins, leaves and the client's own background steps (rejoin and sync after
   * a reconnect or gap), paced within the server's per-socket event budget (Pacer):
   * RATE_LIMITED is waited out as the server says (`details.retryAfterMs`) and asked again.
   */
  private patientRequest<E extends ClientEventName>(event: E, payload: ClientPayloads[E]): Promise<AckData[E]> {
    return this.pacer.run(() => this.request(event, payload));
  }

  private createSocket(): ChatSocket {
    const socket: ChatSocket = io(this.opts.url, {
      transports: ['websocket'],
      autoConnect: false,
      ...this.opts.socketOptions,
      auth: (cb) => cb(this.api.token ? { token: this.api.token } : {}),
    });
    socket.on('connect', () => {
      this.connection++;
      this.emit('connect');
      void this.resume();
    });
    socket.on('disconnect', (reason) => {
      // Requests still waiting their turn would go out on the next connection, beside its rejoin.
      this.pacer.reset(new ChatError('UNAVAILABLE', `Not connected (${reason})`));
      this.emit('disconnect', reason);
    });
    socket.on('connect_error', (err) => {
      const code =
        err.message === UNAUTHORIZED_HANDSHAKE
          ? 'UNAUTHORIZED'
          : err.message === TOO_MANY_CONNECTIONS_HANDSHAKE
            ? 'RATE_LIMITED'
            : 'UNAVAILABLE';
      this.emit('connectError', new ChatError(code, err.message));
    });
    socket.on(ServerEvent.Message, (e: TimelineEventPayload) => this.onTimeline(e));
    socket.on(ServerEvent.Read, (e: ReadEvent) => this.onRead(e));
    socket.on(ServerEvent.Inbox, (e: InboxEvent) => this.onInbox(e));
    socket.on(ServerEvent.Typing, (e: TypingEvent) => this.emit('typing', e));
    socket.on(ServerEvent.Presence, (e: PresenceEvent) => this.emit('presence', e));
    socket.on(ServerEvent.Exception, (e: ExceptionEvent) => this.emit('exception', ChatError.from(e), e.event));
    return socket;
  }

  /**
   * After every (re)connect: resend what is unacked, re-join the rooms and sync what was
   * missed, a sync call's worth of rooms at a time, so the first rooms are synced while the
   * rest are still being joined (at the paced rate, 1,000 rooms take about 15 s).
   */
  private async resume(): Promise<void> {
    this.pump();
    const connection = this.connection;
    const rooms = [...this.rooms.values()];
    const syncs: Promise<void>[] = [];
    for (let i = 0; i < rooms.length && this.connection === connection && this.connected; i += SYNC_ROOMS_PER_CALL) {
      syncs.push(this.sync(await this.rejoin(rooms.slice(i, i + SYNC_ROOMS_PER_CALL))));
    }
    await Promise.all(syncs);
  }

  /** Joins `rooms` again; returns those with something to sync. */
  private async rejoin(rooms: RoomTracker[]): Promise<RoomTracker[]> {
    const joined = await Promise.all(
      rooms.map((r) =>
        this.patientRequest(ClientEvent.JoinRoom, { chatroomId: r.chatroomId }).then(
          (data) => ({ room: r, data }),
          (err: ChatError) => {
            // No longer a member (removed while away): stop tracking; anything else is retried next time.
            if (err.code === 'NOT_FOUND' || err.code === 'FORBIDDEN') {
              this.rooms.delete(r.chatroomId);
              this.emit('error', roomsDropped(err, [r]));
            } else this.emit('error', err);
            return undefined;
          },
        ),
      ),
    );
    const toSync: RoomTracker[] = [];
    for (const j of joined) {
      if (!j || this.rooms.get(j.room.chatroomId) !== j.room) continue;
      if (j.room.lastSeq === undefined) this.deliver(j.room.start(j.data.lastSeq));
      if (j.data.lastSeq > (j.room.lastSeq ?? 0) || j.room.hasGap) toSync.push(j.room);
    }
    return toSync;
  }

  /**
   * Two instances announce a member's position each as its own window ends, so a lower one
   * can arrive after a higher one: only a position past the last one announced goes on.
   */
  private onRead(e: ReadEvent): void {
    const key = `${e.chatroomId}:${e.userId}`;
    if (e.seq <= (this.readSeqs.get(key) ?? 0)) return;
    if (this.readSeqs.size >= 100_000) this.readSeqs.clear(); // bounded: a stale position passes once
    this.readSeqs.set(key, e.seq);
    this.emit('read', e);
  }

  /** Two recounts on two instances can arrive in either order: the higher version is the newer. */
  private onInbox(e: InboxEvent): void {
    if (e.version <= this.inboxVersion) return;
    this.inboxVersion = e.version;
    this.emit('inbox', e);
  }

  private onTimeline(e: TimelineEventPayload): void {
    switch (e.type) {
      case TimelineEvent.SendMessage:
        return this.receive(e.message, 'broadcast');
      case TimelineEvent.EditMessage:
      case TimelineEvent.DeleteMessage: {
        const room = this.rooms.get(e.chatroomId);
        if (!room) return;
        if (room.lastSeq !== undefined && e.message.seq <= room.lastSeq) this.emit('messageUpdated', e);
        else room.update(e.message); // delivered later, in this version
        return;
      }
      default:
        return this.emit('member', e);
    }
  }

  /** One message for a room, from a broadcast, an ack or a sync: delivered once, in order. */
  private receive(m: Message, via: 'broadcast' | 'ack' | 'sync'): void {
    const room = this.rooms.get(m.chatroomId);
    if (!room) return;
    this.deliver(room.accept(m));
    if (!room.hasGap || room.lastSeq === undefined || via === 'sync') return;
    if (via === 'broadcast') void this.sync([room]);
    else if (!room.gapTimer) {
      // An ack can overtake the broadcasts of the messages before it; give them a moment.
      room.gapTimer = setTimeout(() => {
        room.gapTimer = undefined;
        if (room.hasGap) void this.sync([room]);
      }, this.opts.gapGraceMs);
    }
  }

  private deliver(messages: Message[]): void {
    for (const m of messages) this.emit('message', m);
  }

  /** Fetches everything after each room's last delivered seq, page by page. One sync per room at a time. */
  private async sync(rooms: RoomTracker[]): Promise<void> {
    const ready = rooms.filter((r) => {
      if (r.syncing) r.syncAgain = true;
      return !r.syncing && r.lastSeq !== undefined && this.rooms.get(r.chatroomId) === r;
    });
    if (!ready.length) return;
    for (const r of ready) r.syncing = true;
    const again: RoomTracker[] = [];
    try {
      let batch = ready;
      while (batch.length) {
        const next: RoomTracker[] = [];
        for (let i = 0; i < batch.length; i += SYNC_ROOMS_PER_CALL) {
          const data = await this.syncChunk(batch.slice(i, i + SYNC_ROOMS_PER_CALL));
          for (const result of data.rooms) if (this.applySync(result)) next.push(this.rooms.get(result.chatroomId)!);
        }
        batch = next;
      }
    } catch (err) {
      this.emit('error', err instanceof ChatError ? err : new ChatError('UNAVAILABLE', String(err)));
    } finally {
      for (const r of ready) {
        r.syncing = false;
        if (r.syncAgain && r.hasGap) again.push(r);
        r.syncAgain = false;
      }
    }
    if (again.length) await this.sync(again);
  }

  /**
   * One sync call. Rooms the server refuses as not ours (removed while away, between the
   * rejoin and this call) are no longer tracked, reported as an `error`, and the rest are
   * asked again: the refusal names each one (`details`: `rooms[i].chatroomId`).
   */
  private async syncChunk(chunk: RoomTracker[]): Promise<AckData[typeof ClientEvent.Sync]> {
    for (;;) {
      try {
        return await this.patientRequest(ClientEvent.Sync, {
          rooms: chunk.map((r) => ({ chatroomId: r.chatroomId, afterSeq: r.lastSeq! })),
          limit: this.opts.syncLimit,
        });
      } catch (err) {
        const gone = err instanceof ChatError && err.code === 'NOT_FOUND' ? refusedRooms(err, chunk) : [];
        if (!gone.length) throw err;
        for (const r of gone) if (this.rooms.get(r.chatroomId) === r) this.rooms.delete(r.chatroomId);
        this.emit('error', roomsDropped(err as ChatError, gone));
        chunk = chunk.filter((r) => !gone.includes(r));
        if (!chunk.length) return { rooms: [] };
      }
    }
  }

  /** Applies one room's sync page; true if another page should follow. */
  private applySync(result: SyncRoomResult): boolean {
    const room = this.rooms.get(result.chatroomId);
    if (!room) return false;
    const before = room.lastSeq;
    for (const m of result.messages) this.receive(m, 'sync');
    const progressed = room.lastSeq !== before;
    return result.hasMore && progressed;
  }

  /**
   * Puts pending sends on the wire (if connected; `resume()` calls it again after a reconnect):
   * per room the oldest one only, or all of them when `orderedSends` is off.
   */
  private pump(): void {
    if (!this.socket?.connected) return;
    const busy = new Set<number>();
    for (const rec of this.outgoing.values()) {
      if (rec.state !== 'pending') continue;
      if (this.opts.orderedSends && busy.has(rec.chatroomId)) continue;
      busy.add(rec.chatroomId);
      if (!rec.onWire) this.transmit(rec);
    }
  }

  private transmit(rec: OutgoingRecord): void {
    const attempt = ++rec.inflight;
    rec.onWire = true;
    rec.attempts++;
    const payload = {
      chatroomId: rec.chatroomId,
      clientMsgId: rec.clientMsgId,
      message: { type: rec.type, content: rec.content },
    };
    this.request(ClientEvent.SendMessage, payload).then(
      (message) => this.settle(rec, message),
      (err: ChatError) => {
        if (rec.state !== 'pending' || attempt !== rec.inflight) return;
        if (err.code === 'UNAUTHORIZED') {
          // The token ran out or was revoked, and the server is closing the connection: the
          // send waits for the app to log in and connect again (resume), with the others of
          // its room behind it. Failed here, it was the one send of its room not resent,
          // and landed after them if the user sent it again.
          rec.onWire = false;
          return;
        }
        if (!(err instanceof NoAckError)) return this.settle(rec, undefined, err);
        // No answer (timeout, dropped connection): the same clientMsgId goes again, now or on reconnect.
        rec.onWire = false;
        this.pump();
      },
    );
  }

  private settle(rec: OutgoingRecord, message?: Message, error?: ChatError): void {
    if (rec.state !== 'pending') return;
    rec.onWire = false;
    if (message) {
      rec.state = 'acked';
      rec.message = message;
      this.outgoing.delete(rec.clientMsgId);
      this.emit('messageState', rec);
      rec.settle.resolve(message);
      this.receive(message, 'ack');
    } else {
      rec.state = 'failed';
      rec.error = error;
      this.emit('messageState', rec);
      rec.settle.reject(error!);
    }
    this.pump();
  }
}

/** No acknowledgement came (timeout or dropped connection): the server may or may not have acted. */
export class NoAckError extends ChatError {
  constructor(event: string, reason: string) {
    super('UNAVAILABLE', `${event}: no acknowledgement (${reason})`);
  }
}

/** The refusal that made the client stop tracking rooms, with their ids in `details.chatroomIds`. */
function roomsDropped(err: ChatError, rooms: RoomTracker[]): ChatError {
  const chatroomIds = rooms.map((r) => r.chatroomId);
  return new ChatError(err.code, `${err.message} (no longer tracked: room ${chatroomIds.join(', ')})`, { chatroomIds });
}

/** The rooms of a sync call that a NOT_FOUND refusal names (`details: [{field: 'rooms[i].chatroomId'}]`). */
function refusedRooms(err: ChatError, chunk: RoomTracker[]): RoomTracker[] {
  if (!Array.isArray(err.details)) return [];
  const out: RoomTracker[] = [];
  for (const d of err.details as { field?: unknown }[]) {
    const i = typeof d?.field === 'string' ? /^rooms\[(\d+)\]\.chatroomId$/.exec(d.field)?.[1] : undefined;
    const room = i === undefined ? undefined : chunk[Number(i)];
    if (room && !out.includes(room)) out.push(room);
  }
  return out;
}
