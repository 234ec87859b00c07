import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { MessageDto } from '../chat-history/dto/message.response';
import { MessageIdParamPipe } from '../common/id-param.pipe';
import { ApiErrors, ApiNoContent, ApiPage, ApiProtected, ApiUuidParam } from '../common/openapi';
import { DeletedDto, ReceiptDto, SentMessageDto } from './dto/message.response';
import type { AuthUser } from '../auth/auth.types';
import { CurrentUser } from '../auth/decorators';
import { EditMessageDto, MessageIdsDto } from './dto/message-body.dto';
import { SentMessagesQueryDto } from './dto/message-query.dto';
import { MessagesService } from './messages.service';

@ApiTags('messages')
@ApiProtected()
@Controller('messages')
export class MessagesController {
  constructor(private readonly messages: MessagesService) {}

  @Get('sent')
  @ApiOperation({ summary: 'My sent messages, newest first, each with readCount (queued ones included)' })
  @ApiPage(SentMessageDto)
  @ApiErrors(400)
  sent(@CurrentUser() user: AuthUser, @Query() q: SentMessagesQueryDto) {
    return this.messages.sent(user, q);
  }

  @Get(':id/receipts')
  @ApiOperation({ summary: 'Who of the other members has read the message (sender or admin)' })
  @ApiUuidParam()
  @ApiOkResponse({ type: [ReceiptDto] })
  @ApiErrors(400, 403, 404)
  receipts(@CurrentUser() user: AuthUser, @Param('id', MessageIdParamPipe) id: string) {
    return this.messages.receipts(user, id);
  }

  @Patch(':id')
  @ApiOperation({ summary: 'Edit (sender within MESSAGE_EDIT_WINDOW_S, or admin)' })
  @ApiUuidParam()
  @ApiOkResponse({ type: MessageDto })
  @ApiErrors(400, 403, 404, 409, 413, 415)
  edit(@CurrentUser() user: AuthUser, @Param('id', MessageIdParamPipe) id: string, @Body() dto: EditMessageDto) {
    return this.messages.edit(user, id, dto);
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiOperation({ summary: 'Retract for everyone (tombstone); retracting again is a no-op 204' })
  @ApiUuidParam()
  @ApiNoContent()
  @ApiErrors(400, 403, 404)
  retract(@CurrentUser() user: AuthUser, @Param('id', MessageIdParamPipe) id: string) {
    return this.messages.retract(user, id);
  }

  @Delete()
  @HttpCode(200)
  @ApiOperation({ summary: 'Retract several: all or nothing' })
  @ApiOkResponse({ type: DeletedDto })
  @ApiErrors(400, 403, 404, 413, 415)
  retractMany(@CurrentUser() user: AuthUser, @Body() dto: MessageIdsDto) {
    return this.messages.retractMany(user, dto.ids);
  }
}
