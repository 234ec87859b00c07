import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiNoContentResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { AuthUser } from '../auth/auth.types';
import { CurrentUser } from '../auth/decorators';
import { EditMessageDto, MessageIdsDto } from './dto/message-body.dto';
import { SentMessagesQueryDto } from './dto/message-query.dto';
import { MessageIdPipe } from './message-actions.service';
import { MessagesService } from './messages.service';

@ApiTags('messages')
@ApiBearerAuth()
@Controller('messages')
export class MessagesController {
  constructor(private readonly messages: MessagesService) {}

  @Get('sent')
  @ApiOperation({ summary: 'My sent messages, newest first, each with readCount (stored messages)' })
  sent(@CurrentUser() user: AuthUser, @Query() q: SentMessagesQueryDto) {
    return this.messages.sent(user, q);
  }

  @Get(':id/receipts')
  @ApiOperation({ summary: 'Who of the other members has read the message (sender or admin)' })
  receipts(@CurrentUser() user: AuthUser, @Param('id', MessageIdPipe) id: string) {
    return this.messages.receipts(user, id);
  }

  @Patch(':id')
  @ApiOperation({ summary: 'Edit (sender within MESSAGE_EDIT_WINDOW_S, or admin)' })
  edit(@CurrentUser() user: AuthUser, @Param('id', MessageIdPipe) id: string, @Body() dto: EditMessageDto) {
    return this.messages.edit(user, id, dto);
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiOperation({ summary: 'Retract for everyone (tombstone); retracting again is a no-op 204' })
  @ApiNoContentResponse()
  retract(@CurrentUser() user: AuthUser, @Param('id', MessageIdPipe) id: string) {
    return this.messages.retract(user, id);
  }

  @Delete()
  @HttpCode(200)
  @ApiOperation({ summary: 'Retract several: all or nothing' })
  retractMany(@CurrentUser() user: AuthUser, @Body() dto: MessageIdsDto) {
    return this.messages.retractMany(user, dto.ids);
  }
}
