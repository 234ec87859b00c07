import { Body, Controller, Delete, Get, HttpCode, Param, Post, Res } from '@nestjs/common';
import { ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiErrors, ApiIntParam, ApiNoContent, ApiProtected } from '../common/openapi';
import { ChatroomDetailDto, ChatroomDto } from './dto/chatroom.response';
import type { Response } from 'express';
import type { AuthUser } from '../auth/auth.types';
import { CurrentUser } from '../auth/decorators';
import { ChatroomsService } from './chatrooms.service';
import { AddMembersDto, CreateChatroomDto, DirectChatroomDto } from './dto/chatroom.dto';
import { IdParamPipe } from '../common/id-param.pipe';

@ApiTags('chatrooms')
@ApiProtected()
@Controller('chatrooms')
export class ChatroomsController {
  constructor(private readonly chatrooms: ChatroomsService) {}

  @Post()
  @ApiOperation({ summary: 'Create a group room; the creator is its owner' })
  @ApiCreatedResponse({ type: ChatroomDto })
  @ApiErrors(400, 404, 409, 413, 415)
  create(@CurrentUser() user: AuthUser, @Body() dto: CreateChatroomDto) {
    return this.chatrooms.create(user, dto);
  }

  /** 201 when this call created the room, 200 when it already existed. */
  @Post('direct')
  @ApiOperation({ summary: 'The one direct room of the pair: 201 when created, 200 when it existed' })
  @ApiCreatedResponse({ type: ChatroomDto, description: 'Created now' })
  @ApiOkResponse({ type: ChatroomDto, description: 'Existed already' })
  @ApiErrors(400, 404, 409, 413, 415)
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
  @ApiOperation({ summary: 'My rooms, most recent activity first' })
  @ApiOkResponse({ type: [ChatroomDto] })
  list(@CurrentUser() user: AuthUser) {
    return this.chatrooms.list(user);
  }

  @Get(':id')
  @ApiOperation({ summary: 'A room of mine with its members' })
  @ApiIntParam('id')
  @ApiOkResponse({ type: ChatroomDetailDto })
  @ApiErrors(400, 404)
  get(@CurrentUser() user: AuthUser, @Param('id', IdParamPipe) id: number) {
    return this.chatrooms.get(user, id);
  }

  @Post(':id/members')
  @HttpCode(200)
  @ApiOperation({ summary: 'Add members (room owner or room admin); returns the room' })
  @ApiIntParam('id')
  @ApiOkResponse({ type: ChatroomDetailDto })
  @ApiErrors(400, 403, 404, 409, 413, 415)
  addMembers(@CurrentUser() user: AuthUser, @Param('id', IdParamPipe) id: number, @Body() dto: AddMembersDto) {
    return this.chatrooms.addMembers(user, id, dto);
  }

  @Delete(':id/members/:userId')
  @HttpCode(204)
  @ApiOperation({
    summary: 'Remove a member, or leave (yourself); direct rooms cannot be left',
    description:
      'The owner removes anyone, a room admin plain members, anyone themselves. When the owner leaves and ' +
      'members remain, ownership passes in the same transaction to a room admin if there is one, else to a ' +
      'member: the longest-standing (earliest joined, ties by lowest user id). So a group with members always has exactly one owner, ' +
      'also when several members leave at once.',
  })
  @ApiIntParam('id')
  @ApiIntParam('userId')
  @ApiNoContent()
  @ApiErrors(400, 403, 404)
  removeMember(
    @CurrentUser() user: AuthUser,
    @Param('id', IdParamPipe) id: number,
    @Param('userId', IdParamPipe) userId: number,
  ) {
    return this.chatrooms.removeMember(user, id, userId);
  }
}
