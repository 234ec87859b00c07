import { Controller, Get, Param, ParseIntPipe } from '@nestjs/common';
import { ApiExtraModels, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiErrors, ApiIntParam, ApiProtected, refTo } from '../common/openapi';
import { PrivateUserDto, PublicUserDto } from './dto/user.response';
import type { AuthUser } from '../auth/auth.types';
import { CurrentUser } from '../auth/decorators';
import { UsersService } from './users.service';

@ApiTags('users')
@ApiProtected()
@ApiExtraModels(PublicUserDto, PrivateUserDto)
@Controller('users')
export class UsersController {
  constructor(private readonly users: UsersService) {}

  @Get('me')
  @ApiOperation({ summary: 'My own user, with email and role' })
  @ApiOkResponse({ type: PrivateUserDto })
  @ApiErrors(404)
  me(@CurrentUser() user: AuthUser) {
    return this.users.me(user);
  }

  @Get(':id')
  @ApiOperation({ summary: 'A user: the public view, or with email and role for the user itself and admins' })
  @ApiIntParam('id')
  @ApiOkResponse({ schema: { anyOf: [refTo(PrivateUserDto), refTo(PublicUserDto)] } })
  @ApiErrors(400, 404)
  get(@CurrentUser() user: AuthUser, @Param('id', ParseIntPipe) id: number) {
    return this.users.get(user, id);
  }
}
