import { Controller, Get, Param, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiErrors, ApiIntParam, ApiPage, ApiProtected } from '../common/openapi';
import { MessageDto } from './dto/message.response';
import type { AuthUser } from '../auth/auth.types';
import { CurrentUser } from '../auth/decorators';
import { AppError } from '../common/errors';
import { ChatHistoryService } from './chat-history.service';
import { ChatHistoryListQueryDto, HistoryQueryDto } from './dto/history-query.dto';
import { IdParamPipe } from '../common/id-param.pipe';

@ApiTags('history')
@ApiProtected()
@Controller()
export class ChatHistoryController {
  constructor(private readonly history: ChatHistoryService) {}

  @Get('chatrooms/:id/messages')
  @ApiOperation({ summary: 'History by seq: before (newest first, default) or after (oldest first)' })
  @ApiIntParam('id')
  @ApiPage(MessageDto, 'nextCursor is the seq to pass as before/after next')
  @ApiErrors(400, 404)
  messages(@CurrentUser() user: AuthUser, @Param('id', IdParamPipe) id: number, @Query() q: HistoryQueryDto) {
    if (q.before !== undefined && q.after !== undefined) {
      throw AppError.validation('Use either before or after, not both', [
        { field: 'after', errors: ['cannot be combined with before'] },
      ]);
    }
    return this.history.history(user.id, id, q);
  }

  /** The historical route: the latest messages of a room, oldest first, as a plain array. */
  @Get('chat-history/list')
  @ApiOperation({ summary: 'The latest messages of a room, oldest first (historical route)' })
  @ApiOkResponse({ type: [MessageDto] })
  @ApiErrors(400, 404)
  async list(@CurrentUser() user: AuthUser, @Query() q: ChatHistoryListQueryDto) {
    const page = await this.history.history(user.id, q.chatroomId, { limit: q.limit });
    return page.items.reverse();
  }
}
