import { Body, Controller, Delete, Get, HttpCode, Param, Query, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiNoContentResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { AdminGuard } from '../auth/admin.guard';
import type { AuthUser } from '../auth/auth.types';
import { CurrentUser } from '../auth/decorators';
import { AdminMessagesService } from './admin-messages.service';
import { MessageIdsDto } from './dto/message-body.dto';
import { AdminMessagesQueryDto } from './dto/message-query.dto';
import { MessageIdPipe } from './message-actions.service';

@ApiTags('admin')
@ApiBearerAuth()
@UseGuards(AdminGuard)
@Controller('admin/messages')
export class AdminMessagesController {
  constructor(private readonly admin: AdminMessagesService) {}

  @Get()
  @ApiOperation({ summary: 'Every stored message, newest first; filters and full-text search (q)' })
  search(@CurrentUser() user: AuthUser, @Query() q: AdminMessagesQueryDto) {
    return this.admin.search(user, q);
  }

  @Get(':id')
  @ApiOperation({ summary: 'One message (stored or queued) with its room and read receipts' })
  view(@CurrentUser() user: AuthUser, @Param('id', MessageIdPipe) id: string) {
    return this.admin.view(user, id);
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiOperation({ summary: 'Moderate one message (tombstone)' })
  @ApiNoContentResponse()
  async retract(@CurrentUser() user: AuthUser, @Param('id', MessageIdPipe) id: string): Promise<void> {
    await this.admin.retract(user, [id]);
  }

  @Delete()
  @HttpCode(200)
  @ApiOperation({ summary: 'Moderate several messages: all or nothing' })
  retractMany(@CurrentUser() user: AuthUser, @Body() dto: MessageIdsDto) {
    return this.admin.retract(user, dto.ids);
  }
}
