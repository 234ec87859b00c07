import { ApiProperty, ApiSchema } from '@nestjs/swagger';
import { MessageDto } from '../../chat-history/dto/message.response';

@ApiSchema({ name: 'SentMessage', description: 'A message the caller sent, with how many others have read it' })
export class SentMessageDto extends MessageDto {
  @ApiProperty({ type: 'integer', minimum: 0, description: 'Other current members who have read it', example: 2 })
  readCount: number;
}

@ApiSchema({ name: 'Receipt' })
export class ReceiptDto {
  @ApiProperty({ type: 'integer', example: 8 })
  userId: number;

  @ApiProperty({ example: true })
  read: boolean;
}

@ApiSchema({ name: 'DeletedMessages' })
export class DeletedDto {
  @ApiProperty({ type: [String], format: 'uuid', description: 'The ids now tombstones (including ones that were)' })
  deleted: string[];
}

@ApiSchema({ name: 'RoomSummary' })
export class RoomSummaryDto {
  @ApiProperty({ type: 'integer', example: 3 })
  id: number;

  @ApiProperty({ example: 'team' })
  name: string;

  @ApiProperty({ enum: ['direct', 'group'], enumName: 'ChatroomType', example: 'group' })
  type: 'direct' | 'group';
}

@ApiSchema({ name: 'AdminMessage', description: 'A message with its room and the read receipts of its members' })
export class AdminMessageDto extends MessageDto {
  @ApiProperty({ type: RoomSummaryDto })
  room: RoomSummaryDto;

  @ApiProperty({ type: [ReceiptDto] })
  receipts: ReceiptDto[];
}
