import { ApiProperty, ApiPropertyOptional, ApiSchema } from '@nestjs/swagger';
import { MessageDto, MessagePreviewDto } from '../../chat-history/dto/message.response';

@ApiSchema({ name: 'InboxRoom' })
export class InboxRoomDto {
  @ApiProperty({ type: 'integer', example: 3 })
  chatroomId: number;

  @ApiProperty({ example: 'team' })
  name: string;

  @ApiProperty({ enum: ['direct', 'group'], enumName: 'ChatroomType', example: 'group' })
  type: 'direct' | 'group';

  @ApiProperty({ type: 'integer', minimum: 0, example: 2 })
  unreadCount: number;

  @ApiProperty({ type: 'integer', minimum: 0, example: 40 })
  readSeq: number;

  @ApiProperty({ type: 'integer', minimum: 0, example: 42 })
  lastSeq: number;

  @ApiPropertyOptional({ type: MessagePreviewDto, description: 'Absent while the room has no message' })
  lastMessage?: MessagePreviewDto;
}

@ApiSchema({ name: 'Inbox', description: 'Unread counts per room, newest activity first' })
export class InboxDto {
  @ApiProperty({ type: 'integer', minimum: 0, example: 2 })
  totalUnread: number;

  @ApiProperty({ type: [InboxRoomDto] })
  rooms: InboxRoomDto[];
}

@ApiSchema({ name: 'InboxMessage', description: 'A received message with whether the caller has read it' })
export class InboxMessageDto extends MessageDto {
  @ApiProperty({ example: false })
  read: boolean;
}

@ApiSchema({ name: 'RoomReadState' })
export class RoomReadStateDto {
  @ApiProperty({ type: 'integer', example: 3 })
  chatroomId: number;

  @ApiProperty({ type: 'integer', minimum: 0, example: 0 })
  unreadCount: number;

  @ApiProperty({ type: 'integer', minimum: 0, example: 42 })
  readSeq: number;
}

@ApiSchema({ name: 'ReadResult', description: 'The touched rooms after a mark-read, and the new total' })
export class ReadResultDto {
  @ApiProperty({ type: 'integer', minimum: 0, example: 0 })
  totalUnread: number;

  @ApiProperty({ type: [RoomReadStateDto] })
  rooms: RoomReadStateDto[];
}

@ApiSchema({ name: 'HiddenMessages' })
export class HiddenDto {
  @ApiProperty({ type: [String], format: 'uuid', description: 'The ids now hidden for the caller' })
  hidden: string[];
}
