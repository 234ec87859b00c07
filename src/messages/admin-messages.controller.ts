import { Body, Controller, Delete, Get, HttpCode, Param, Query, UseGuards } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { MessageDto } from '../chat-history/dto/message.response';
import { MessageIdParamPipe } from '../common/id-param.pipe';
import { ApiErrors, ApiNoContent, ApiPage, ApiProtected, ApiUuidParam } from '../common/openapi';
import { AdminMessageDto, DeletedDto } from './dto/message.response';
import { AdminGuard } from '../auth/admin.guard';
import type { AuthUser } from '../auth/auth.types';
import { CurrentUser } from '../auth/decorators';
import { AdminMessagesService } from './admin-messages.service';
import { MessageIdsDto } from './dto/message-body.dto';
import { AdminMessagesQueryDto } from './dto/message-query.dto';

@ApiTags('admin')
@ApiProtected()
@ApiErrors(403)
@UseGuards(AdminGuard)
@Controller('admin/messages')
export class AdminMessagesController {
  constructor(private readonly admin: AdminMessagesService) {}

  @Get()
  @ApiOperation({ summary: 'Every stored message, newest first; filters and full-text search (q)' })
  @ApiPage(MessageDto)
  @ApiErrors(400)
  search(@CurrentUser() user: AuthUser, @Query() q: AdminMessagesQueryDto) {
    return this.admin.search(user, q);
  }

  @Get(':id')
  @ApiOperation({ summary: 'One message (stored or queued) with its room and read receipts' })
  @ApiUuidParam()
  @ApiOkResponse({ type: AdminMessageDto })
  @ApiErrors(400, 404)
  view(@CurrentUser() user: AuthUser, @Param('id', MessageIdParamPipe) id: string) {
    return this.admin.view(user, id);
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiOperation({ summary: 'Moderate one message (tombstone)' })
  @ApiUuidParam()
  @ApiNoContent()
  @ApiErrors(400, 404)
  async retract(@CurrentUser() user: AuthUser, @Param('id', MessageIdParamPipe) id: string): Promise<void> {
    await this.admin.retract(user, [id]);
  }

  @Delete()
  @HttpCode(200)
  @ApiOperation({ summary: 'Moderate several messages: all or nothing' })
  @ApiOkResponse({ type: DeletedDto })
  @ApiErrors(400, 404, 413, 415)
  retractMany(@CurrentUser() user: AuthUser, @Body() dto: MessageIdsDto) {
    return this.admin.retract(user, dto.ids);
  }
}
