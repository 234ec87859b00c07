import { ApiProperty, ApiPropertyOptional, ApiSchema } from '@nestjs/swagger';
import { MessagePreviewDto } from '../../chat-history/dto/message.response';
import { PublicUserDto } from '../../users/dto/user.response';

/** The contract's Chatroom as one member sees it (chatroom.presenter.ts ChatroomView). */
@ApiSchema({ name: 'Chatroom', description: 'A room as the calling member sees it' })
export class ChatroomDto {
  @ApiProperty({ type: 'integer', example: 3 })
  id: number;

  @ApiProperty({ example: 'team' })
  name: string;

  @ApiProperty({ enum: ['direct', 'group'], enumName: 'ChatroomType', example: 'group' })
  type: 'direct' | 'group';

  @ApiProperty({ format: 'date-time', example: '2026-11-30T09:00:00.000Z' })
  createdAt: string;

  @ApiProperty({ type: 'integer', minimum: 0, example: 4 })
  memberCount: number;

  @ApiProperty({ type: 'integer', minimum: 0, description: 'The seq of the newest message (0: none)', example: 42 })
  lastSeq: number;

  @ApiProperty({ type: 'integer', minimum: 0, description: "The caller's read position", example: 40 })
  readSeq: number;

  @ApiProperty({ type: 'integer', minimum: 0, example: 2 })
  unreadCount: number;

  @ApiPropertyOptional({ type: MessagePreviewDto, description: 'Absent while the room has no message' })
  lastMessage?: MessagePreviewDto;
}

@ApiSchema({ name: 'ChatroomMember' })
export class MemberDto {
  @ApiProperty({ type: PublicUserDto })
  user: PublicUserDto;

  @ApiProperty({ enum: ['owner', 'admin', 'member'], enumName: 'MemberRole', example: 'member' })
  role: 'owner' | 'admin' | 'member';

  @ApiProperty({ type: 'integer', minimum: 0, example: 40 })
  readSeq: number;

  @ApiProperty({ description: 'Has a socket open on any instance', example: true })
  online: boolean;
}

@ApiSchema({ name: 'ChatroomDetail', description: 'A room with its members' })
export class ChatroomDetailDto extends ChatroomDto {
  @ApiProperty({ type: [MemberDto] })
  members: MemberDto[];
}
