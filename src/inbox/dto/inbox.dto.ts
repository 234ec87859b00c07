import { ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { ArrayMaxSize, ArrayMinSize, IsArray, IsBoolean, IsOptional, IsUUID, ValidateIf } from 'class-validator';
import { IsId, IsSeq } from '../../common/input-rules';
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
  @ApiPropertyOptional()
  @ValidateIf((o: MarkReadBodyDto) => o.messageIds === undefined)
  @IsId()
  chatroomId?: number;

  @ApiPropertyOptional()
  @ValidateIf((o: MarkReadBodyDto) => o.messageIds === undefined)
  @IsSeq()
  seq?: number;

  @ApiPropertyOptional({ type: [String] })
  @ValidateIf((o: MarkReadBodyDto) => o.chatroomId === undefined && o.seq === undefined)
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(MAX_IDS)
  @IsUUID('all', { each: true })
  messageIds?: string[];
}

export class MessageIdsDto {
  @ApiPropertyOptional({ type: [String] })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(MAX_IDS)
  @IsUUID('all', { each: true })
  ids: string[];
}
