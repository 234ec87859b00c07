import { ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsBoolean, IsIn, IsOptional, IsString, Length } from 'class-validator';
import { IsId, IsMessageId, IsStrictDate, MAX_INT4, QueryInt } from '../../common/input-rules';
import { LimitQueryDto } from '../../common/pagination';

/** Query strings carry booleans as text; anything but 'true'/'false' is left for IsBoolean to refuse. */
const toBool = ({ value }: { value: unknown }) => (value === 'true' ? true : value === 'false' ? false : value);

/** Newest-first lists walk the time-ordered message id: the cursor is the last id of the previous page. */
export class MessageCursorQueryDto extends LimitQueryDto {
  @ApiPropertyOptional({ format: 'uuid', description: 'The last id of the previous page (nextCursor)' })
  @IsOptional()
  @IsMessageId()
  cursor?: string;

  @ApiPropertyOptional({ type: 'integer', minimum: 1, maximum: MAX_INT4, description: 'Only messages of this room' })
  @IsOptional()
  @QueryInt()
  @IsId()
  chatroomId?: number;
}

export class SentMessagesQueryDto extends MessageCursorQueryDto {}

export class AdminMessagesQueryDto extends MessageCursorQueryDto {
  @ApiPropertyOptional({ type: 'integer', minimum: 1, maximum: MAX_INT4, description: 'Only messages of this sender' })
  @IsOptional()
  @QueryInt()
  @IsId()
  senderId?: number;

  @ApiPropertyOptional({ enum: ['text', 'image', 'file'] })
  @IsOptional()
  @IsIn(['text', 'image', 'file'])
  type?: 'text' | 'image' | 'file';

  @ApiPropertyOptional({ format: 'date-time', description: 'createdAt at or after this' })
  @IsOptional()
  @IsStrictDate()
  from?: string;

  @ApiPropertyOptional({ format: 'date-time', description: 'createdAt before this' })
  @IsOptional()
  @IsStrictDate()
  to?: string;

  @ApiPropertyOptional({ default: false, description: 'Include retracted and moderated messages (tombstones)' })
  @IsOptional()
  @Transform(toBool)
  @IsBoolean()
  includeDeleted?: boolean;

  @ApiPropertyOptional({ minLength: 1, maxLength: 200, description: 'Words to find in the content (full-text)' })
  @IsOptional()
  @IsString()
  @Length(1, 200)
  q?: string;
}
