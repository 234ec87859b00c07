import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
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
import { IsId, IsSeq } from '../../common/input-rules';
import { SocketPayload } from '../../common/payload-validation.pipe';
/** A hard ceiling before the configurable MESSAGE_MAX_LENGTH check, so huge strings are refused cheaply. */
const CONTENT_HARD_MAX = 100_000;

export class RoomRefDto {
  @IsId()
  chatroomId: number;
}

@SocketPayload()
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
  content: string;
}

@SocketPayload()
export class SendMessageDto extends RoomRefDto {
  /** The client's own id for this message: a resend with it returns the first ack. */
  @IsOptional()
  @IsString()
  @Matches(/^[\w.:-]{1,64}$/, { message: 'clientMsgId must be 1-64 of letters, digits, _ . : -' })
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
export const SYNC_MAX_LIMIT = 500;

@SocketPayload()
export class SyncDto {
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(SYNC_MAX_ROOMS)
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
