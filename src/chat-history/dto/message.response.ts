import { ApiProperty, ApiPropertyOptional, ApiSchema } from '@nestjs/swagger';

@ApiSchema({ name: 'Sender', description: 'The public face of a message sender' })
export class SenderDto {
  @ApiProperty({ type: 'integer', example: 7 })
  id: number;

  @ApiProperty({ example: 'alice_01' })
  username: string;

  @ApiProperty({ example: 'Alice' })
  nickName: string;

  @ApiProperty({ example: '' })
  headPic: string;
}

/** The contract's Message (chat-history/message.types.ts MessageView). */
@ApiSchema({
  name: 'Message',
  description:
    'A chat message. A retracted or moderated one stays as a tombstone (deleted: true, content "") so seq has no holes',
})
export class MessageDto {
  @ApiProperty({
    format: 'uuid',
    description: 'Time-ordered (UUIDv7)',
    example: '019ad2f4-5b1e-7c3a-9f10-2b8e4c6d7a01',
  })
  id: string;

  @ApiProperty({ type: 'integer', example: 3 })
  chatroomId: number;

  @ApiProperty({ type: 'integer', minimum: 1, description: 'Per-room sequence: 1, 2, 3, ... no reuse', example: 42 })
  seq: number;

  @ApiProperty({ type: 'integer', example: 7 })
  senderId: number;

  @ApiProperty({ type: SenderDto })
  sender: SenderDto;

  @ApiProperty({ enum: ['text', 'image', 'file'], enumName: 'MessageType', example: 'text' })
  type: 'text' | 'image' | 'file';

  @ApiProperty({ description: '"" for a tombstone', example: 'hello' })
  content: string;

  @ApiPropertyOptional({ description: "The sender's own id for the message, when it sent one", example: 'c-123' })
  clientMsgId?: string;

  @ApiProperty({ format: 'date-time', example: '2026-11-30T09:12:44.120Z' })
  createdAt: string;

  @ApiPropertyOptional({ format: 'date-time', description: 'Present once edited' })
  editedAt?: string;

  @ApiPropertyOptional({ enum: [true], type: 'boolean', description: 'Present (true) on a tombstone only' })
  deleted?: true;
}

/** A room's last message in the room lists (chat-history/page-size.ts previewOf). */
@ApiSchema({
  name: 'MessagePreview',
  description:
    'The room’s last message. Its content is cut to 500 characters as JSON writes them (a control character counts six, `"` and `\\` two), and then `truncated` is true: history has the message whole.',
})
export class MessagePreviewDto extends MessageDto {
  @ApiPropertyOptional({ enum: [true], type: 'boolean', description: 'Present (true) when the content was cut' })
  truncated?: true;
}
