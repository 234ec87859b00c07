import { Logger, UseFilters } from '@nestjs/common';
import {
  ConnectedSocket,
  MessageBody,
  OnGatewayConnection,
  OnGatewayDisconnect,
  OnGatewayInit,
  SubscribeMessage,
  WebSocketGateway,
} from '@nestjs/websockets';
import type { DefaultEventsMap, Server, Socket } from 'socket.io';
import type { AuthUser } from '../auth/auth.types';
import { bearerToken, TokenService } from '../auth/token.service';
import { ClientEvent, roomChannel, ServerEvent, TimelineEvent, userChannel } from '../common/constants';
import { InboxNotifier } from '../inbox/inbox-notifier.service';
import { InboxService } from '../inbox/inbox.service';
import { MetricsService } from '../metrics/metrics.service';
import { Broadcaster } from './broadcaster.service';
import { ChatService } from './chat.service';
import { JoinRoomDto, LeaveRoomDto, MarkReadDto, SendMessageDto, SyncDto, TypingDto } from './dto/chat-events.dto';
import { PresenceService } from './presence.service';
import { WsExceptionFilter } from './ws-exception.filter';

type AuthedSocket = Socket<DefaultEventsMap, DefaultEventsMap, DefaultEventsMap, { user: AuthUser }>;

const ok = <T>(data: T) => ({ ok: true as const, data });

/**
 * socket.io entry point. Sockets authenticate once, at the handshake, and join their
 * `user:<id>` channel; every event is validated (the app-wide PayloadValidationPipe, bound
 * as APP_PIPE, covers gateways too), authorised in ChatService, and
 * answered through its acknowledgement. Server options (CORS, payload limit, Redis
 * adapter) come from RedisIoAdapter.
 */
@WebSocketGateway()
@UseFilters(WsExceptionFilter)
export class ChatGateway implements OnGatewayInit, OnGatewayConnection, OnGatewayDisconnect {
  private readonly logger = new Logger(ChatGateway.name);

  constructor(
    private readonly chat: ChatService,
    private readonly tokens: TokenService,
    private readonly presence: PresenceService,
    private readonly broadcaster: Broadcaster,
    private readonly inbox: InboxService,
    private readonly inboxNotifier: InboxNotifier,
    private readonly metrics: MetricsService,
  ) {}

  afterInit(server: Server): void {
    this.broadcaster.attach(server);
    this.metrics.watchSockets(server);
    this.broadcaster.onPeerEviction(({ userId, chatroomId }) => this.chat.forgetMembership(userId, chatroomId));
    this.broadcaster.onPeerActivity((chatroomId) => this.inboxNotifier.schedule(chatroomId));
    server.use((socket, next) => {
      this.tokens
        .verify(handshakeToken(socket))
        .then((user) => {
          (socket as AuthedSocket).data.user = user;
          next();
        })
        .catch(() => next(new Error('unauthorized')));
    });
  }

  async handleConnection(socket: AuthedSocket): Promise<void> {
    const { user } = socket.data;
    await socket.join(userChannel(user.id));
    this.logger.debug({ msg: 'socket connected', socketId: socket.id, userId: user.id });
    await this.presence.connected(user.id).catch((e: Error) => this.logger.warn(`presence: ${e.message}`));
  }

  async handleDisconnect(socket: AuthedSocket): Promise<void> {
    const user = socket.data.user as AuthUser | undefined;
    if (!user) return;
    this.logger.debug({ msg: 'socket disconnected', socketId: socket.id, userId: user.id });
    await this.presence.disconnected(user.id).catch((e: Error) => this.logger.warn(`presence: ${e.message}`));
  }

  @SubscribeMessage(ClientEvent.JoinRoom)
  async joinRoom(@ConnectedSocket() socket: AuthedSocket, @MessageBody() dto: JoinRoomDto) {
    const { user } = socket.data;
    const data = await this.chat.join(user, dto.chatroomId, dto.userId);
    await socket.join(roomChannel(dto.chatroomId));
    const event = { type: TimelineEvent.JoinRoom, chatroomId: dto.chatroomId, userId: user.id };
    this.broadcaster.toRoom(dto.chatroomId, ServerEvent.Message, event);
    return ok(data);
  }

  @SubscribeMessage(ClientEvent.LeaveRoom)
  async leaveRoom(@ConnectedSocket() socket: AuthedSocket, @MessageBody() dto: LeaveRoomDto) {
    const { user } = socket.data;
    await this.chat.assertMember(user, dto.chatroomId, dto.userId);
    await socket.leave(roomChannel(dto.chatroomId));
    const event = { type: TimelineEvent.LeaveRoom, chatroomId: dto.chatroomId, userId: user.id };
    this.broadcaster.toRoom(dto.chatroomId, ServerEvent.Message, event);
    return ok({ chatroomId: dto.chatroomId });
  }

  @SubscribeMessage(ClientEvent.SendMessage)
  async sendMessage(@ConnectedSocket() socket: AuthedSocket, @MessageBody() dto: SendMessageDto) {
    return ok(await this.chat.send(socket.data.user, dto));
  }

  @SubscribeMessage(ClientEvent.Sync)
  async sync(@ConnectedSocket() socket: AuthedSocket, @MessageBody() dto: SyncDto) {
    return ok(await this.chat.sync(socket.data.user, dto));
  }

  @SubscribeMessage(ClientEvent.MarkRead)
  async markRead(@ConnectedSocket() socket: AuthedSocket, @MessageBody() dto: MarkReadDto) {
    return ok(await this.inbox.markRead(socket.data.user, dto.chatroomId, dto.seq));
  }

  @SubscribeMessage(ClientEvent.Typing)
  async typing(@ConnectedSocket() socket: AuthedSocket, @MessageBody() dto: TypingDto) {
    const { user } = socket.data;
    await this.chat.assertMember(user, dto.chatroomId);
    const event = { chatroomId: dto.chatroomId, userId: user.id, typing: dto.typing };
    socket.to(roomChannel(dto.chatroomId)).emit(ServerEvent.Typing, event);
    return ok({ chatroomId: dto.chatroomId });
  }
}

/** `auth.token`, else `Authorization: Bearer`, else `?token=`. */
function handshakeToken(socket: Socket): string | undefined {
  const fromAuth: unknown = (socket.handshake.auth as Record<string, unknown> | undefined)?.token;
  if (typeof fromAuth === 'string' && fromAuth) return fromAuth;
  const fromHeader = bearerToken(socket.handshake.headers.authorization);
  if (fromHeader) return fromHeader;
  const q = socket.handshake.query.token;
  return typeof q === 'string' && q ? q : undefined;
}
