import { ApiProperty, ApiPropertyOptional, ApiSchema } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { ArrayMaxSize, ArrayMinSize, IsArray, IsBoolean, IsOptional, ValidateIf } from 'class-validator';
import { IsId, IsMessageId, IsSeq, MAX_INT4 } from '../../common/input-rules';
import { MessageCursorQueryDto } from '../../messages/dto/message-query.dto';

export const MAX_IDS = 100;

/** Received messages: the shared id cursor and room filter, plus `unread`. */
export class InboxMessagesQueryDto extends MessageCursorQueryDto {
  @ApiPropertyOptional({ description: 'Only unread messages' })
  @IsOptional()
  @Transform(({ value }: { value: unknown }) => (value === 'true' ? true : value === 'false' ? false : value))
  @IsBoolean()
  unread?: boolean;
}

/** Either `{chatroomId, seq}` (everything up to seq) or `{messageIds}` (exactly those). */
export class MarkReadBodyDto {
  @ApiPropertyOptional({ type: 'integer', minimum: 1, maximum: MAX_INT4, description: 'With seq' })
  @ValidateIf((o: MarkReadBodyDto) => o.messageIds === undefined)
  @IsId()
  chatroomId?: number;

  @ApiPropertyOptional({
    type: 'integer',
    minimum: 0,
    maximum: MAX_INT4,
    description: 'With chatroomId: everything up to this seq is read',
  })
  @ValidateIf((o: MarkReadBodyDto) => o.messageIds === undefined)
  @IsSeq()
  seq?: number;

  @ApiPropertyOptional({
    type: 'array',
    items: { type: 'string', format: 'uuid' },
    minItems: 1,
    maxItems: MAX_IDS,
    description: 'Instead of chatroomId and seq: exactly these messages are read',
  })
  @ValidateIf((o: MarkReadBodyDto) => o.chatroomId === undefined && o.seq === undefined)
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(MAX_IDS)
  @IsMessageId({ each: true })
  messageIds?: string[];
}

@ApiSchema({ name: 'HideMessagesDto' })
export class MessageIdsDto {
  @ApiProperty({ type: 'array', items: { type: 'string', format: 'uuid' }, minItems: 1, maxItems: MAX_IDS })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(MAX_IDS)
  @IsMessageId({ each: true })
  ids: string[];
}
