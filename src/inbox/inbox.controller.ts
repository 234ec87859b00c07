import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { MessageIdParamPipe } from '../common/id-param.pipe';
import { ApiErrors, ApiNoContent, ApiPage, ApiProtected, ApiUuidParam } from '../common/openapi';
import { HiddenDto, InboxDto, InboxMessageDto, ReadResultDto } from './dto/inbox.response';
import type { AuthUser } from '../auth/auth.types';
import { CurrentUser } from '../auth/decorators';
import { InboxMessagesQueryDto, MarkReadBodyDto, MessageIdsDto } from './dto/inbox.dto';
import { InboxService } from './inbox.service';

@ApiTags('inbox')
@ApiProtected()
@Controller('inbox')
export class InboxController {
  constructor(private readonly inbox: InboxService) {}

  @Get()
  @ApiOperation({ summary: 'Unread counts per room and in total' })
  @ApiOkResponse({ type: InboxDto })
  summary(@CurrentUser() user: AuthUser) {
    return this.inbox.summary(user);
  }

  @Get('messages')
  @ApiOperation({ summary: 'Messages others sent in my rooms, newest first, each with read' })
  @ApiPage(InboxMessageDto)
  @ApiErrors(400, 404)
  messages(@CurrentUser() user: AuthUser, @Query() q: InboxMessagesQueryDto) {
    return this.inbox.messages(user, q);
  }

  @Get('messages/:id')
  @ApiOperation({ summary: 'One message of my rooms with read (404 if hidden for me)' })
  @ApiUuidParam()
  @ApiOkResponse({ type: InboxMessageDto })
  @ApiErrors(400, 404)
  message(@CurrentUser() user: AuthUser, @Param('id', MessageIdParamPipe) id: string) {
    return this.inbox.message(user, id);
  }

  @Post('read')
  @HttpCode(200)
  @ApiOperation({ summary: 'Mark read: {chatroomId, seq} (everything up to seq) or {messageIds} (exactly those)' })
  @ApiOkResponse({ type: ReadResultDto })
  @ApiErrors(400, 404, 413, 415)
  read(@CurrentUser() user: AuthUser, @Body() dto: MarkReadBodyDto) {
    return this.inbox.read(user, dto);
  }

  @Delete('messages/:id')
  @HttpCode(204)
  @ApiOperation({ summary: 'Hide one message for me only' })
  @ApiUuidParam()
  @ApiNoContent()
  @ApiErrors(400, 404)
  async hideOne(@CurrentUser() user: AuthUser, @Param('id', MessageIdParamPipe) id: string) {
    await this.inbox.hide(user, [id]);
  }

  @Delete('messages')
  @ApiOperation({ summary: 'Hide several for me only; an id not in my rooms is a 404 and nothing changes' })
  @ApiOkResponse({ type: HiddenDto })
  @ApiErrors(400, 404, 413, 415)
  hideMany(@CurrentUser() user: AuthUser, @Body() dto: MessageIdsDto) {
    return this.inbox.hide(user, dto.ids);
  }
}
