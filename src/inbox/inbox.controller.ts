import { Body, Controller, Delete, Get, HttpCode, Param, ParseUUIDPipe, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import type { AuthUser } from '../auth/auth.types';
import { CurrentUser } from '../auth/decorators';
import { InboxMessagesQueryDto, MarkReadBodyDto, MessageIdsDto } from './dto/inbox.dto';
import { InboxService } from './inbox.service';

@ApiTags('inbox')
@ApiBearerAuth()
@Controller('inbox')
export class InboxController {
  constructor(private readonly inbox: InboxService) {}

  @Get()
  summary(@CurrentUser() user: AuthUser) {
    return this.inbox.summary(user);
  }

  @Get('messages')
  messages(@CurrentUser() user: AuthUser, @Query() q: InboxMessagesQueryDto) {
    return this.inbox.messages(user, q);
  }

  @Get('messages/:id')
  message(@CurrentUser() user: AuthUser, @Param('id', ParseUUIDPipe) id: string) {
    return this.inbox.message(user, id);
  }

  @Post('read')
  @HttpCode(200)
  read(@CurrentUser() user: AuthUser, @Body() dto: MarkReadBodyDto) {
    return this.inbox.read(user, dto);
  }

  @Delete('messages/:id')
  @HttpCode(204)
  async hideOne(@CurrentUser() user: AuthUser, @Param('id', ParseUUIDPipe) id: string) {
    await this.inbox.hide(user, [id]);
  }

  @Delete('messages')
  hideMany(@CurrentUser() user: AuthUser, @Body() dto: MessageIdsDto) {
    return this.inbox.hide(user, dto.ids);
  }
}
