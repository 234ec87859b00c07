import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsEmail, IsOptional, IsString, Length, Matches, MaxLength, ValidateIf } from 'class-validator';
import {
  DISPLAY_NAME_PATTERN,
  IsMediaUrl,
  IsNotBlank,
  LengthInCodePoints,
  MaxCodePoints,
  NoBidiControls,
} from '../../common/input-rules';
import { USERNAME_MAX_LENGTH } from '../username';

export class RegisterDto {
  @ApiProperty({ example: 'alice_01', minLength: 3, maxLength: 32, pattern: '^[A-Za-z0-9_]+$' })
  @IsString()
  @LengthInCodePoints(3, USERNAME_MAX_LENGTH)
  @Matches(/^[A-Za-z0-9_]+$/, { message: 'username may contain only letters, digits and _' })
  username: string;

  @ApiProperty({ minLength: 8, maxLength: 128 })
  @IsString()
  @Length(8, 128)
  password: string;

  @ApiPropertyOptional({
    maxLength: 64,
    pattern: DISPLAY_NAME_PATTERN,
    description:
      'Shown as the sender of your messages; leave it out to be shown by your username. When given, it ' +
      'must not be blank (only whitespace or characters that render as nothing: Unicode default-ignorable ' +
      'code points such as zero-width spaces and joiners, and U+2800; "" included) and must not contain ' +
      'bidirectional overrides, embeddings or isolates (U+202A-U+202E, U+2066-U+2069)',
  })
  @IsOptional()
  @IsString()
  @MaxCodePoints(64)
  // Someone else's timeline shows it as who wrote: a blank one hides the sender, a reversed one
  // ("\u202eecila") reads as another user. "" is refused too: leaving the field out is "none".
  @IsNotBlank()
  @NoBidiControls()
  nickName?: string;

  @ApiPropertyOptional({ format: 'email', maxLength: 254 })
  @IsOptional()
  // Stored lower-cased, and checked as stored: lower case can take more code points than the
  // text sent (U+0130 becomes "i" + U+0307), which overflowed varchar(254) after validation.
  @Transform(({ value }: { value: unknown }) => (typeof value === 'string' ? value.toLowerCase() : value))
  @IsEmail()
  @MaxCodePoints(254)
  email?: string;

  @ApiPropertyOptional({ maxLength: 1024, description: 'Avatar: an http(s) URL, or empty for none' })
  @IsOptional()
  @IsString()
  @MaxCodePoints(1024)
  // Clients put it in <img src> and links: javascript: and data: URLs are refused.
  @ValidateIf((_, v) => v !== '')
  @IsMediaUrl()
  headPic?: string;
}

export class LoginDto {
  @ApiProperty({ maxLength: USERNAME_MAX_LENGTH })
  @IsString()
  @MaxLength(USERNAME_MAX_LENGTH)
  username: string;

  @ApiProperty({ maxLength: 128 })
  @IsString()
  @MaxLength(128)
  password: string;
}
