import { UNAUTHORIZED_HANDSHAKE } from '@chat-backend/protocol';
import { BeforeApplicationShutdown, Logger } from '@nestjs/common';
import { OnGatewayConnection, OnGatewayDisconnect, OnGatewayInit, WebSocketGateway } from '@nestjs/websockets';
import type { DefaultEventsMap, Server, Socket } from 'socket.io';
import type { AuthUser } from '../auth/auth.types';
import type { MessageView } from '../chat-history/message.types';
import { IdentityService } from '../auth/identity.service';
import { ROOMS_PER_REST_REQUEST } from '../auth/throttle.service';
import { bearerToken, TokenService } from '../auth/token.service';
import { InTurn } from '../common/in-turn';
import { ClientEvent, roomChannel, ServerEvent, userChannel } from '../common/constants';
import { AppError, ErrorCode, toErrorBody } from '../common/errors';
import { SocketPayloadPipe } from '../common/payload-validation.pipe';
import { AppConfig } from '../config/app-config';
import { InboxNotifier } from '../inbox/inbox-notifier.service';
import { InboxService } from '../inbox/inbox.service';
import { MetricsService } from '../metrics/metrics.service';
import { Broadcaster } from './broadcaster.service';
import { ChatService } from './chat.service';
import { JoinRoomDto, LeaveRoomDto, MarkReadDto, SendMessageDto, SyncDto, TypingDto } from './dto/chat-events.dto';
import { PresenceService } from './presence.service';
import { guardEngineRequests } from './engine-requests';
import { limitPackets, packetBudgetOf } from './packet-budget';
import { limitPings } from './ping-budget';
import { outputTaken } from './socket-output';
import { SlowConsumers } from './slow-consumers';
import { OnClientEvent, SocketDispatcher } from './socket-dispatch';
import {
  type Buckets,
  type EventBudgets,
  type EventGate,
  limitSocketEvents,
  type SocketGate,
} from './socket-event-budget';
import { TokenExpiry } from './token-expiry';
import { TooManyConnections, UserSockets } from './user-sockets';
import { WsExceptionFilter } from './ws-exception.filter';

/**
 * `joined`: the rooms whose broadcast this socket joined, to leave them on disconnect.
 * `syncs`: the end of this socket's queue of syncs (see sync).
 * `roomOps`: per room, this socket's joinRoom and leaveRoom in turn (roomOpsOf).
 * `shared`: the event buckets of the user's sockets on this instance (UserSockets).
 * `gate`: the socket's event budgets (limitSocketEvents): an accepted send gets its token back, a
 * markRead is charged for its rooms.
 */
type AuthedSocket = Socket<
  DefaultEventsMap,
  DefaultEventsMap,
  DefaultEventsMap,
  {
    user: AuthUser;
    joined?: Set<number>;
    syncs?: Promise<unknown>;
    roomOps?: InTurn<number>;
    shared?: Buckets;
    gate?: SocketGate;
  }
>;

const ok = <T>(data: T) => ({ ok: true as const, data });

/** How long a sync waits for the client to read the socket's earlier output. */
const SYNC_OUTPUT_WAIT_MS = 10_000;

/**
 * socket.io entry point. Sockets authenticate once, at the handshake, and join their
 * `user:<id>` channel, at most SOCKETS_PER_USER_MAX per user here (UserSockets). Every event
 * first passes the gate (socket-event-budget.ts: the socket's and the user's budgets, and
 * unknown names answered). Client events are the `@OnClientEvent` methods, run by
 * SocketDispatcher: every payload is validated by SocketPayloadPipe (raw checks, then the DTO
 * rules REST bodies get), authorised in ChatService, and answered through its
 * acknowledgement; WsExceptionFilter shapes every failure. Server options (CORS, payload
 * limit, Redis adapter) come from RedisIoAdapter.
 */
@WebSocketGateway()
export class ChatGateway implements OnGatewayInit, OnGatewayConnection, OnGatewayDisconnect, BeforeApplicationShutdown {
  private readonly logger = new Logger(ChatGateway.name);
  private expiry: TokenExpiry | undefined;
  private slowConsumers: SlowConsumers | undefined;
  private readonly budgets: { socket: EventBudgets; user: EventBudgets };
  private readonly userSockets: UserSockets;
  private readonly events = new SocketDispatcher(this, new SocketPayloadPipe(), new WsExceptionFilter());
  private readonly onLimited: EventGate['onLimited'] = (scope) =>
    this.metrics.rateLimited(scope === 'user' ? 'socket_user_events' : 'socket_events');
  private readonly onFloodCut = () => this.metrics.floodCut();

  constructor(
    private readonly chat: ChatService,
    private readonly tokens: TokenService,
    private readonly presence: PresenceService,
    private readonly broadcaster: Broadcaster,
    private readonly inbox: InboxService,
    private readonly inboxNotifier: InboxNotifier,
    private readonly identity: IdentityService,
    private readonly metrics: MetricsService,
    private readonly config: AppConfig,
  ) {
    this.budgets = {
      socket: {
        events: { ratePerSec: config.socketEventRatePerSec, burst: config.socketEventBurst },
        typing: { ratePerSec: config.socketTypingRatePerSec, burst: config.socketTypingBurst },
      },
      user: {
        events: { ratePerSec: config.userSocketEventRatePerSec, burst: config.userSocketEventBurst },
        typing: { ratePerSec: config.userSocketTypingRatePerSec, burst: config.userSocketTypingBurst },
      },
    };
    this.userSockets = new UserSockets(config.socketsPerUserMax);
  }

  afterInit(server: Server): void {
    this.expiry = new TokenExpiry(server);
    this.expiry.start();
    this.slowConsumers = new SlowConsumers(server, this.config.wsMaxUnreadBytes, () => this.metrics.slowConsumerCut());
    this.slowConsumers.start();
    // Below socket.io: polls whose answers go unread, methods engine.io does not serve, pings,
    // and floods of engine.io's own packets.
    guardEngineRequests(server.engine, () => this.metrics.slowConsumerCut());
    limitPings(server.engine, this.onFloodCut);
    limitPackets(server.engine, packetBudgetOf(this.config), this.onFloodCut);
    this.broadcaster.attach(server);
    this.metrics.watchSockets(server);
    this.broadcaster.onPeerEviction(({ userId, chatroomId }) => this.chat.forgetMembership(userId, chatroomId));
    this.broadcaster.onPeerActivity((chatroomId) => this.inboxNotifier.schedule(chatroomId));
    // Revocations, disables and role changes close the user's sockets on every instance.
    this.identity.attach(server);
    this.userSockets.attach(server);
    // The token is checked against the live user (exists, enabled, token version, not logged
    // out); then the user's sockets here are counted (SOCKETS_PER_USER_MAX).
    server.use((socket, next) => {
      authenticate(socket as AuthedSocket)
        .then(() => next())
        .catch((e: unknown) => {
          socket.rooms.forEach((room) => void socket.leave(room));
          if (e instanceof TooManyConnections) this.metrics.rateLimited('socket_connections');
          next(e instanceof TooManyConnections ? e : new Error(UNAUTHORIZED_HANDSHAKE));
        });
    });
    // Joined to `user:<id>` before the last check: a revocation landing while a check ran is
    // seen by the next one (checked again until none landed since the check began); one
    // landing after finds the socket in the channel.
    const authenticate = async (socket: AuthedSocket) => {
      const token = handshakeToken(socket);
      let seen = this.identity.changes;
      let user = await this.tokens.verify(token);
      const { joined, buckets } = this.userSockets.admit(socket, user.id);
      socket.data.shared = buckets;
      await joined;
      for (let tries = 0; seen !== this.identity.changes && tries < 5; tries++) {
        seen = this.identity.changes;
        user = await this.tokens.verify(token);
      }
      socket.data.user = user;
    };
  }

  beforeApplicationShutdown(): void {
    this.expiry?.stop();
    this.slowConsumers?.stop();
  }

  async handleConnection(socket: AuthedSocket): Promise<void> {
    // First, synchronously: no event of this socket runs before its token check and its
    // budget are in place.
    this.expiry?.guard(socket);
    socket.data.gate = limitSocketEvents(socket, {
      socket: this.budgets.socket,
      user: { budgets: this.budgets.user, buckets: socket.data.shared ?? {} },
      known: this.events.names,
      onLimited: this.onLimited,
      onCut: this.onFloodCut,
    });
    this.events.attach(socket);
    const { user } = socket.data;
    await socket.join(userChannel(user.id));
    this.logger.debug({ msg: 'socket connected', socketId: socket.id, userId: user.id });
    await this.presence.connected(user.id).catch((e: Error) => this.logger.warn(`presence: ${e.message}`));
  }

  async handleDisconnect(socket: AuthedSocket): Promise<void> {
    const user = socket.data.user as AuthUser | undefined;
    if (!user) return;
    this.logger.debug({ msg: 'socket disconnected', socketId: socket.id, userId: user.id });
    const left = [...(socket.data.joined ?? [])].map((chatroomId) => this.presence.left(user.id, chatroomId));
    await Promise.all([...left, this.presence.disconnected(user.id)]).catch((e: Error) =>
      this.logger.warn(`presence: ${e.message}`),
    );
  }

  @OnClientEvent(ClientEvent.JoinRoom)
  joinRoom(socket: AuthedSocket, dto: JoinRoomDto) {
    return roomOpsOf(socket).run(dto.chatroomId, () => this.join(socket, dto));
  }

  @OnClientEvent(ClientEvent.LeaveRoom)
  leaveRoom(socket: AuthedSocket, dto: LeaveRoomDto) {
    return roomOpsOf(socket).run(dto.chatroomId, () => this.leave(socket, dto));
  }

  private async join(socket: AuthedSocket, dto: JoinRoomDto) {
    const { user } = socket.data;
    const joined = (socket.data.joined ??= new Set());
    const channel = roomChannel(dto.chatroomId);
    const rejoin = joined.has(dto.chatroomId);
    const data = await this.chat.join(user, dto.chatroomId, dto.userId, {
      enter: async () => socket.join(channel),
      // A socket that was already in the room stays: a failed rejoin leaves it as it was.
      // Unless the user is no longer a member (removed while the join ran): then it goes,
      // and its attendance with it.
      undo: async (notMember) => {
        if (rejoin && !notMember) return;
        await socket.leave(channel);
        if (notMember && joined.delete(dto.chatroomId)) await this.presence.left(user.id, dto.chatroomId);
      },
    });
    // The socket may have gone while the join ran: its disconnect took back only what it had
    // counted by then, so this join counts nothing, and leaves nothing in the adapter's room.
    if (!socket.connected) {
      await socket.leave(channel);
      return ok(data);
    }
    // Checked again after the awaits: of two joins of one socket at once, one counts it.
    if (!joined.has(dto.chatroomId)) {
      joined.add(dto.chatroomId);
      // A failed count fails the join, undone like the rest: a disconnect then never takes
      // back an attendance that was not given.
      await this.presence.joined(user.id, dto.chatroomId).catch(async (e: unknown) => {
        joined.delete(dto.chatroomId);
        await socket.leave(channel);
        throw e;
      });
    }
    return ok(data);
  }

  private async leave(socket: AuthedSocket, dto: LeaveRoomDto) {
    const { user } = socket.data;
    await this.chat.assertMember(user, dto.chatroomId, dto.userId);
    await socket.leave(roomChannel(dto.chatroomId));
    if (socket.data.joined?.delete(dto.chatroomId)) await this.presence.left(user.id, dto.chatroomId);
    return ok({ chatroomId: dto.chatroomId });
  }

  /** A send the client is to blame for refusing (see chargedToClient) keeps its event token. */
  @OnClientEvent(ClientEvent.SendMessage)
  async sendMessage(socket: AuthedSocket, dto: SendMessageDto) {
    let sent: MessageView;
    try {
      sent = await this.chat.send(socket.data.user, dto);
    } catch (err) {
      if (!chargedToClient(err)) socket.data.gate?.refundSend();
      throw err;
    }
    socket.data.gate?.refundSend();
    return ok(sent);
  }

  /**
   * A socket's syncs run one after another, and each only once the client has taken the
   * socket's earlier output. An answer can be megabytes: a client spending its event budget
   * on syncs had them all built together, and one that also stopped reading made the server
   * hold every answer (gigabytes, in a probe). Now a socket has at most one answer in the
   * process; a client that has not read the last one within SYNC_OUTPUT_WAIT_MS is told so.
   */
  @OnClientEvent(ClientEvent.Sync)
  async sync(socket: AuthedSocket, dto: SyncDto) {
    const run = (socket.data.syncs ?? Promise.resolve()).then(async () => {
      if (!(await outputTaken(socket, SYNC_OUTPUT_WAIT_MS))) {
        throw new AppError(ErrorCode.RateLimited, 'Earlier answers to this socket are still unread: read them first');
      }
      return this.chat.sync(socket.data.user, dto);
    });
    const tail = run.catch(() => undefined);
    socket.data.syncs = tail;
    void tail.then(() => {
      if (socket.data.syncs === tail) socket.data.syncs = undefined;
    });
    return ok(await run);
  }

  /**
   * A mark recounts every room of the user's (InboxService.report): at 1,000 rooms 7-16 ms,
   * and 95 marks a second within the event budgets took another user's ack p99 from 6 to
   * ~100 ms. So it costs one more event per ROOMS_PER_REST_REQUEST rooms, as the room lists
   * do on REST, charged after the answer is built.
   */
  @OnClientEvent(ClientEvent.MarkRead)
  async markRead(socket: AuthedSocket, dto: MarkReadDto) {
    const { answer, rooms } = await this.inbox.markRead(socket.data.user, dto.chatroomId, dto.seq);
    socket.data.gate?.charge(Math.floor(rooms / ROOMS_PER_REST_REQUEST));
    return ok(answer);
  }

  @OnClientEvent(ClientEvent.Typing)
  async typing(socket: AuthedSocket, dto: TypingDto) {
    const { user } = socket.data;
    await this.chat.assertMember(user, dto.chatroomId);
    const event = { chatroomId: dto.chatroomId, userId: user.id, typing: dto.typing };
    socket.to(roomChannel(dto.chatroomId)).emit(ServerEvent.Typing, event);
    return ok({ chatroomId: dto.chatroomId });
  }
}

/**
 * A socket's joinRoom and leaveRoom of one room run one after another, in the order sent, so
 * the last one sent decides whether the socket is in the room. Run together, each awaited its
 * membership check (PostgreSQL when not cached) before it acted: a `leaveRoom` sent just
 * before a `joinRoom` could take the socket out after the join had put it in, both acked,
 * and the socket then missed every message of the room with no gap to tell (a probe). Other
 * rooms' joins are not held up: a reconnect joins all of its rooms at once.
 */
function roomOpsOf(socket: AuthedSocket): InTurn<number> {
  return (socket.data.roomOps ??= new InTurn<number>());
}

/**
 * A send refused for what the client sent (its payload, its rate, a room not its own), not
 * for the server's state (UNAVAILABLE while Redis is away or shutting down, INTERNAL): only
 * those spend the client's event budget.
 */
function chargedToClient(err: unknown): boolean {
  const { code } = toErrorBody(err);
  return code !== ErrorCode.Unavailable && code !== ErrorCode.Internal;
}

/**
 * `auth.token`, else `Authorization: Bearer`, else `?token=`. A repeated `?token=` is none:
 * engine.io keeps the last value, so which one counted would depend on a parser's choice,
 * and REST refuses a repeated query parameter too.
 */
function handshakeToken(socket: Socket): string | undefined {
  const fromAuth: unknown = (socket.handshake.auth as Record<string, unknown> | undefined)?.token;
  if (typeof fromAuth === 'string' && fromAuth) return fromAuth;
  const fromHeader = bearerToken(socket.handshake.headers.authorization);
  if (fromHeader) return fromHeader;
  const q = socket.handshake.query.token;
  if (typeof q !== 'string' || !q) return undefined;
  const query = socket.handshake.url.split('?')[1] ?? '';
  return new URLSearchParams(query).getAll('token').length === 1 ? q : undefined;
}
