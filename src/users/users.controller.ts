import { Body, Controller, Get, HttpCode, Param, Patch, Res, UseGuards } from '@nestjs/common';
import { ApiExtraModels, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { ApiErrors, ApiIntParam, ApiNoContent, ApiProtected, refTo } from '../common/openapi';
import { PrivateUserDto, PublicUserDto } from './dto/user.response';
import type { AuthUser } from '../auth/auth.types';
import { AuthThrottleGuard } from '../auth/auth-throttle.guard';
import { ClientAddress, CurrentUser } from '../auth/decorators';
import { ChangePasswordDto } from '../auth/dto/session.dto';
import { SessionsService } from '../auth/sessions.service';
import { UsersService } from './users.service';
import { IdParamPipe } from '../common/id-param.pipe';

@ApiTags('users')
@ApiProtected()
@ApiExtraModels(PublicUserDto, PrivateUserDto)
@Controller('users')
export class UsersController {
  constructor(
    private readonly users: UsersService,
    private readonly sessions: SessionsService,
  ) {}

  @Get('me')
  @ApiOperation({ summary: 'My own user, with email and role' })
  @ApiOkResponse({ type: PrivateUserDto })
  @ApiErrors(404)
  me(@CurrentUser() user: AuthUser) {
    return this.users.me(user);
  }

  // Two password hashes: charged to the client address's attempts and the KDF queue, as a
  // login is. Only the per-user limits held them, and 40 accounts changing passwords from
  // one address filled the KDF queue (a probe): everyone's logins were refused.
  @Patch('me/password')
  @UseGuards(AuthThrottleGuard)
  @HttpCode(204)
  @ApiOperation({
    summary: 'Change my password: this token keeps working, every other token is revoked',
    description:
      'A wrong currentPassword is 400 VALIDATION_FAILED and counts as a failed login. Of concurrent changes ' +
      'made with the same currentPassword exactly one succeeds; the others get the same 400, since the ' +
      'password they name is no longer the current one, or 429 RATE_LIMITED when they arrive while another ' +
      'password check of the same user is running on that instance. A logout-all or a disable that lands ' +
      'while the change runs wins: the change then answers 401, as that session was revoked. Each change ' +
      "counts against the client address's login and registration attempts (AUTH_ATTEMPTS_PER_IP): 429 past it.",
  })
  @ApiNoContent()
  @ApiErrors(400, 413, 415, 429)
  async changePassword(
    @CurrentUser() user: AuthUser,
    @Body() dto: ChangePasswordDto,
    @ClientAddress() ip: string,
    @Res({ passthrough: true }) res: Response,
  ): Promise<void> {
    await this.sessions.changePassword(user, dto, ip, res);
  }

  @Get(':id')
  @ApiOperation({ summary: 'A user: the public view, or with email and role for the user itself and admins' })
  @ApiIntParam('id')
  @ApiOkResponse({ schema: { anyOf: [refTo(PrivateUserDto), refTo(PublicUserDto)] } })
  @ApiErrors(400, 404)
  get(@CurrentUser() user: AuthUser, @Param('id', IdParamPipe) id: number) {
    return this.users.get(user, id);
  }
}
