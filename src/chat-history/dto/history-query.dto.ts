import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, Max, Min, ValidateIf } from 'class-validator';
import { LimitQueryDto } from '../../common/pagination';

const MAX_SEQ = 2_147_483_647;

export class HistoryQueryDto extends LimitQueryDto {
  @ApiPropertyOptional({ description: 'Messages with seq below this, newest first (the default page is the newest)' })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(MAX_SEQ)
  before?: number;

  @ApiPropertyOptional({ description: 'Messages with seq above this, oldest first' })
  @ValidateIf((o: HistoryQueryDto) => o.after !== undefined || o.before === undefined)
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(MAX_SEQ)
  after?: number;
}

export class ChatHistoryListQueryDto extends LimitQueryDto {
  @ApiProperty()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  chatroomId: number;
}
