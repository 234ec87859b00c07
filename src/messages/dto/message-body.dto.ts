import { ApiProperty } from '@nestjs/swagger';
import { ArrayMaxSize, ArrayMinSize, IsArray, IsString, Length } from 'class-validator';
import { IsMessageId, IsNotBlank, NOT_BLANK_PATTERN } from '../../common/input-rules';

export const MAX_IDS_PER_REQUEST = 100;
/** A hard ceiling before the configurable MESSAGE_MAX_LENGTH check, so huge strings are refused cheaply. */
const CONTENT_HARD_MAX = 100_000;

export class EditMessageDto {
  @ApiProperty({
    minLength: 1,
    maxLength: CONTENT_HARD_MAX,
    pattern: NOT_BLANK_PATTERN,
    description:
      'New content, kept as sent; the server refuses more than MESSAGE_MAX_LENGTH characters (default 4000) ' +
      'and content that is blank (only whitespace or characters that render as nothing: Unicode default-ignorable ' +
      'code points such as zero-width spaces and joiners, and U+2800)',
  })
  @IsString()
  @Length(1, CONTENT_HARD_MAX)
  @IsNotBlank()
  content: string;
}

export class MessageIdsDto {
  @ApiProperty({ type: [String], format: 'uuid', minItems: 1, maxItems: MAX_IDS_PER_REQUEST })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(MAX_IDS_PER_REQUEST)
  @IsMessageId({ each: true })
  ids: string[];
}
