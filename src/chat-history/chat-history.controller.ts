import { Controller, Get, Param, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import type { AuthUser } from '../auth/auth.types';
import { CurrentUser } from '../auth/decorators';
import { AppError } from '../common/errors';
import { ChatHistoryService } from './chat-history.service';
import { ChatHistoryListQueryDto, HistoryQueryDto } from './dto/history-query.dto';
import { IdParamPipe } from '../common/id-param.pipe';

@ApiTags('history')
@ApiBearerAuth()
@Controller()
export class ChatHistoryController {
  constructor(private readonly history: ChatHistoryService) {}

  @Get('chatrooms/:id/messages')
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
  async list(@CurrentUser() user: AuthUser, @Query() q: ChatHistoryListQueryDto) {
    const page = await this.history.history(user.id, q.chatroomId, { limit: q.limit });
    return page.items.reverse();
  }
}
