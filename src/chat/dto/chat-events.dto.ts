import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  ArrayUnique,
  IsArray,
  IsBoolean,
  IsDefined,
  IsIn,
  IsInt,
  IsObject,
  IsOptional,
  IsString,
  Length,
  Matches,
  Max,
  Min,
  ValidateNested,
} from 'class-validator';
import { isBlank, IsContentForType, IsId, isMediaUrl, IsNotBlank, IsSeq, MAX_INT4 } from '../../common/input-rules';
import { SocketPayload } from '../../common/payload-validation.pipe';
import { unstorableReason } from '../../common/raw-input';
/** A hard ceiling before the configurable MESSAGE_MAX_LENGTH check, so huge strings are refused cheaply. */
const CONTENT_HARD_MAX = 100_000;

export class RoomRefDto {
  @IsId()
  chatroomId: number;
}

// Fast paths (see FastAccept) of the events every reconnect sends; hoisted functions below.
@SocketPayload({ fastAccept: (value) => acceptJoinRoom(value) })
export class JoinRoomDto extends RoomRefDto {
  /** Accepted for old clients; must be the caller's own id. */
  @IsOptional()
  @IsId()
  userId?: number;
}

@SocketPayload()
export class LeaveRoomDto extends JoinRoomDto {}

export class MessageContentDto {
  @IsIn(['text', 'image', 'file'])
  type: 'text' | 'image' | 'file';

  @IsString()
  @Length(1, CONTENT_HARD_MAX)
  @IsNotBlank()
  @IsContentForType()
  content: string;
}

const CLIENT_MSG_ID = /^[\w.:-]{1,64}$/;

// The fast path of the busiest event (see FastAccept); a function declaration, so hoisted.
@SocketPayload({ fastAccept: (value) => acceptSendMessage(value) })
export class SendMessageDto extends RoomRefDto {
  /** The client's own id for this message: a resend with it returns the first ack. */
  @IsOptional()
  @IsString()
  @Matches(CLIENT_MSG_ID, { message: 'clientMsgId must be 1-64 of letters, digits, _ . : -' })
  clientMsgId?: string;

  // ValidateNested alone skips a missing or non-object value (class-validator README).
  @IsDefined()
  @IsObject()
  @ValidateNested()
  @Type(() => MessageContentDto)
  message: MessageContentDto;

  /** Accepted for old clients; must be the caller's own id. */
  @IsOptional()
  @IsId()
  sendUserId?: number;
}

export class SyncRoomDto extends RoomRefDto {
  @IsSeq()
  afterSeq: number;
}

export const SYNC_MAX_ROOMS = 100;
/** A room's messages in one sync answer at most (`limit`), and all rooms' together. */
export const SYNC_MAX_LIMIT = 500;

@SocketPayload({ fastAccept: (value) => acceptSync(value) })
export class SyncDto {
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(SYNC_MAX_ROOMS)
  // A room named twice would be read and sent twice: one small event made tens of MB.
  // Elements are SyncRoomDto instances by now, or whatever else was sent (refused below).
  @ArrayUnique((r: unknown) => (typeof r === 'object' && r !== null ? (r as SyncRoomDto).chatroomId : r), {
    message: 'rooms must name each chatroomId once',
  })
  // Each element must itself be an object: ValidateNested accepts [[]] as "an empty array of rooms".
  @IsObject({ each: true })
  @ValidateNested({ each: true })
  @Type(() => SyncRoomDto)
  rooms: SyncRoomDto[];

  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(SYNC_MAX_LIMIT)
  limit?: number;
}

@SocketPayload()
export class TypingDto extends RoomRefDto {
  @IsBoolean()
  typing: boolean;
}

@SocketPayload()
export class MarkReadDto extends RoomRefDto {
  @IsSeq()
  seq: number;
}

/**
 * sendMessage's payload when it is plainly valid, as the full path would return it (a
 * SendMessageDto holding a MessageContentDto), else undefined: the full path then decides
 * and writes the errors. Hand-written because sendMessage is the one event sent at the full
 * message rate (see SocketPayloadPipe). It restates the decorators above and the raw checks
 * (raw-input.ts), and must accept nothing they refuse: send-message-fast-accept.spec.ts
 * compares both on the fuzz suite's cases. Change both together.
 */
export function acceptSendMessage(v: unknown): SendMessageDto | undefined {
  // Plain objects with only known keys: no unknown, prototype or unstorable keys; depth 2.
  if (!isPlainRecord(v)) return undefined;
  for (const key in v) if (!SEND_MESSAGE_KEYS.has(key)) return undefined;
  const m = v.message;
  if (!isPlainRecord(m)) return undefined;
  for (const key in m) if (key !== 'type' && key !== 'content') return undefined;
  const { chatroomId, clientMsgId, sendUserId } = v;
  const { type, content } = m;
  if (!isId(chatroomId) || (sendUserId != null && !isId(sendUserId))) return undefined;
  if (clientMsgId != null && (typeof clientMsgId !== 'string' || !CLIENT_MSG_ID.test(clientMsgId))) return undefined;
  if (type !== 'text' && type !== 'image' && type !== 'file') return undefined;
  if (typeof content !== 'string' || !hasLength(content) || isBlank(content) || unstorableReason(content))
    return undefined;
  if (type !== 'text' && !isMediaUrl(content)) return undefined;
  const message = new MessageContentDto();
  message.type = type;
  message.content = content;
  const dto = new SendMessageDto();
  // Only the keys sent, as class-transformer copies them (an optional one may be null).
  for (const key in v) (dto as unknown as Record<string, unknown>)[key] = v[key];
  dto.message = message;
  return dto;
}

const SEND_MESSAGE_KEYS = new Set(['chatroomId', 'clientMsgId', 'message', 'sendUserId']);

/** Parsed JSON objects only: a Buffer (socket.io binary), array or class instance takes the full path. */
function isPlainRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && Object.getPrototypeOf(v) === Object.prototype;
}

const isId = (x: unknown): x is number => typeof x === 'number' && Number.isInteger(x) && x >= 1 && x <= MAX_INT4;
const isSeq = (x: unknown): x is number => typeof x === 'number' && Number.isInteger(x) && x >= 0 && x <= MAX_INT4;

/** joinRoom's payload when plainly valid, as the full path would return it; else undefined. */
export function acceptJoinRoom(v: unknown): JoinRoomDto | undefined {
  if (!isPlainRecord(v)) return undefined;
  for (const key in v) if (key !== 'chatroomId' && key !== 'userId') return undefined;
  if (!isId(v.chatroomId) || (v.userId != null && !isId(v.userId))) return undefined;
  return Object.assign(new JoinRoomDto(), v);
}

/** sync's payload when plainly valid, as the full path would return it; else undefined. */
export function acceptSync(v: unknown): SyncDto | undefined {
  if (!isPlainRecord(v)) return undefined;
  for (const key in v) if (key !== 'rooms' && key !== 'limit') return undefined;
  const { rooms, limit } = v;
  if (limit != null && !(typeof limit === 'number' && Number.isInteger(limit) && limit >= 1 && limit <= SYNC_MAX_LIMIT))
    return undefined;
  if (!Array.isArray(rooms) || rooms.length < 1 || rooms.length > SYNC_MAX_ROOMS) return undefined;
  const refs: SyncRoomDto[] = [];
  const seen = new Set<number>();
  for (const r of rooms as unknown[]) {
    if (!isPlainRecord(r)) return undefined;
    for (const key in r) if (key !== 'chatroomId' && key !== 'afterSeq') return undefined;
    if (!isId(r.chatroomId) || !isSeq(r.afterSeq) || seen.has(r.chatroomId)) return undefined;
    seen.add(r.chatroomId);
    refs.push(Object.assign(new SyncRoomDto(), r));
  }
  const dto = Object.assign(new SyncDto(), v);
  dto.rooms = refs;
  return dto;
}

/**
 * @Length(1, CONTENT_HARD_MAX) as validator.js counts: a surrogate pair is one character, a
 * character with a variation selector (U+FE0E/U+FE0F) too. That count is at most .length,
 * and at least 1 for any non-empty string (each rule takes one off per two units, and they
 * cannot both tile the same string); longer strings are left to the full path.
 */
const hasLength = (s: string): boolean => s.length >= 1 && s.length <= CONTENT_HARD_MAX;
