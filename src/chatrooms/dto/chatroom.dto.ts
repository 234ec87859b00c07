import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ArrayMaxSize, ArrayMinSize, IsArray, IsOptional, IsString } from 'class-validator';
import { DISPLAY_NAME_PATTERN, IsId, IsNotBlank, LengthInCodePoints, NoBidiControls } from '../../common/input-rules';

export const MAX_MEMBERS_PER_REQUEST = 500;

export class CreateChatroomDto {
  @ApiProperty({
    minLength: 1,
    maxLength: 100,
    pattern: DISPLAY_NAME_PATTERN,
    description:
      'Kept as sent; must not be blank (only whitespace or characters that render as nothing: Unicode ' +
      'default-ignorable code points such as zero-width spaces and joiners, and U+2800) and must not ' +
      'contain bidirectional overrides, embeddings or isolates (U+202A-U+202E, U+2066-U+2069)',
  })
  @IsString()
  @LengthInCodePoints(1, 100)
  @IsNotBlank()
  @NoBidiControls()
  name: string;

  @ApiPropertyOptional({
    type: 'array',
    items: { type: 'integer', minimum: 1, maximum: 2147483647 },
    maxItems: MAX_MEMBERS_PER_REQUEST,
    description: 'Users to add besides the creator',
  })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(MAX_MEMBERS_PER_REQUEST)
  @IsId({ each: true })
  memberIds?: number[];
}

export class DirectChatroomDto {
  @ApiProperty({ type: 'integer', minimum: 1, maximum: 2147483647 })
  @IsId()
  userId: number;
}

export class AddMembersDto {
  @ApiProperty({
    type: 'array',
    items: { type: 'integer', minimum: 1, maximum: 2147483647 },
    minItems: 1,
    maxItems: MAX_MEMBERS_PER_REQUEST,
  })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(MAX_MEMBERS_PER_REQUEST)
  @IsId({ each: true })
  userIds: number[];
}
