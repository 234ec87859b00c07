import { Controller, Get, Param } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import type { AuthUser } from '../auth/auth.types';
import { CurrentUser } from '../auth/decorators';
import { UsersService } from './users.service';
import { IdParamPipe } from '../common/id-param.pipe';

@ApiTags('users')
@ApiBearerAuth()
@Controller('users')
export class UsersController {
  constructor(private readonly users: UsersService) {}

  @Get('me')
  me(@CurrentUser() user: AuthUser) {
    return this.users.me(user);
  }

  @Get(':id')
  get(@CurrentUser() user: AuthUser, @Param('id', IdParamPipe) id: number) {
    return this.users.get(user, id);
  }
}
