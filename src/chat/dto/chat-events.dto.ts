import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsBoolean,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  Length,
  Matches,
  Max,
  Min,
  ValidateNested,
} from 'class-validator';

const MAX_INT = 2_147_483_647;
/** A hard ceiling before the configurable MESSAGE_MAX_LENGTH check, so huge strings are refused cheaply. */
const CONTENT_HARD_MAX = 100_000;

export class RoomRefDto {
  @IsInt()
  @Min(1)
  @Max(MAX_INT)
  chatroomId: number;
}

export class JoinRoomDto extends RoomRefDto {
  /** Accepted for old clients; must be the caller's own id. */
  @IsOptional()
  @IsInt()
  userId?: number;
}

export class LeaveRoomDto extends JoinRoomDto {}

export class MessageContentDto {
  @IsIn(['text', 'image', 'file'])
  type: 'text' | 'image' | 'file';

  @IsString()
  @Length(1, CONTENT_HARD_MAX)
  content: string;
}

export class SendMessageDto extends RoomRefDto {
  /** The client's own id for this message: a resend with it returns the first ack. */
  @IsOptional()
  @IsString()
  @Matches(/^[\w.:-]{1,64}$/, { message: 'clientMsgId must be 1-64 of letters, digits, _ . : -' })
  clientMsgId?: string;

  @ValidateNested()
  @Type(() => MessageContentDto)
  message: MessageContentDto;

  /** Accepted for old clients; must be the caller's own id. */
  @IsOptional()
  @IsInt()
  sendUserId?: number;
}

export class SyncRoomDto extends RoomRefDto {
  @IsInt()
  @Min(0)
  @Max(MAX_INT)
  afterSeq: number;
}

export const SYNC_MAX_ROOMS = 100;
export const SYNC_MAX_LIMIT = 500;

export class SyncDto {
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(SYNC_MAX_ROOMS)
  @ValidateNested({ each: true })
  @Type(() => SyncRoomDto)
  rooms: SyncRoomDto[];

  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(SYNC_MAX_LIMIT)
  limit?: number;
}

export class TypingDto extends RoomRefDto {
  @IsBoolean()
  typing: boolean;
}

export class MarkReadDto extends RoomRefDto {
  @IsInt()
  @Min(0)
  @Max(MAX_INT)
  seq: number;
}
