import { Body, Controller, Delete, Get, HttpCode, Param, Post, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import type { AuthUser } from '../auth/auth.types';
import { CurrentUser } from '../auth/decorators';
import { ChatroomsService } from './chatrooms.service';
import { AddMembersDto, CreateChatroomDto, DirectChatroomDto } from './dto/chatroom.dto';
import { IdParamPipe } from '../common/id-param.pipe';

@ApiTags('chatrooms')
@ApiBearerAuth()
@Controller('chatrooms')
export class ChatroomsController {
  constructor(private readonly chatrooms: ChatroomsService) {}

  @Post()
  create(@CurrentUser() user: AuthUser, @Body() dto: CreateChatroomDto) {
    return this.chatrooms.create(user, dto);
  }

  /** 201 when this call created the room, 200 when it already existed. */
  @Post('direct')
  async direct(
    @CurrentUser() user: AuthUser,
    @Body() dto: DirectChatroomDto,
    @Res({ passthrough: true }) res: Response,
  ) {
    const { room, created } = await this.chatrooms.direct(user, dto);
    res.status(created ? 201 : 200);
    return room;
  }

  @Get()
  list(@CurrentUser() user: AuthUser) {
    return this.chatrooms.list(user);
  }

  @Get(':id')
  get(@CurrentUser() user: AuthUser, @Param('id', IdParamPipe) id: number) {
    return this.chatrooms.get(user, id);
  }

  @Post(':id/members')
  @HttpCode(200)
  addMembers(@CurrentUser() user: AuthUser, @Param('id', IdParamPipe) id: number, @Body() dto: AddMembersDto) {
    return this.chatrooms.addMembers(user, id, dto);
  }

  @Delete(':id/members/:userId')
  @HttpCode(204)
  removeMember(
    @CurrentUser() user: AuthUser,
    @Param('id', IdParamPipe) id: number,
    @Param('userId', IdParamPipe) userId: number,
  ) {
    return this.chatrooms.removeMember(user, id, userId);
  }
}
