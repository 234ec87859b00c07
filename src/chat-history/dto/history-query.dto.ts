import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsInt, IsOptional, Max, Min, ValidateIf } from 'class-validator';
import { IsId, IsSeq, MAX_INT4, QueryInt } from '../../common/input-rules';
import { LimitQueryDto } from '../../common/pagination';

export class HistoryQueryDto extends LimitQueryDto {
  @ApiPropertyOptional({
    type: 'integer',
    minimum: 1,
    maximum: MAX_INT4,
    description: 'Messages with seq below this, newest first (the default page is the newest)',
  })
  @IsOptional()
  @QueryInt()
  @IsInt()
  @Min(1)
  @Max(MAX_INT4)
  before?: number;

  @ApiPropertyOptional({
    type: 'integer',
    minimum: 0,
    maximum: MAX_INT4,
    description: 'Messages with seq above this, oldest first (not with before)',
  })
  @ValidateIf((o: HistoryQueryDto) => o.after !== undefined || o.before === undefined)
  @IsOptional()
  @QueryInt()
  @IsSeq()
  after?: number;
}

export class ChatHistoryListQueryDto extends LimitQueryDto {
  @ApiProperty({ type: 'integer', minimum: 1, maximum: MAX_INT4 })
  @QueryInt()
  @IsId()
  chatroomId: number;
}
