import { Body, Controller, HttpCode, Post, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiErrors, ApiNoContent, ApiPublic, BEARER } from '../common/openapi';
import { PrivateUserDto } from '../users/dto/user.response';
import { AuthThrottleGuard } from './auth-throttle.guard';
import { AuthService } from './auth.service';
import type { AuthUser } from './auth.types';
import { ClientAddress, CurrentUser, Public } from './decorators';
import { LoginDto, RegisterDto } from './dto/auth.dto';
import { LoginResponseDto } from './dto/auth.response';
import { SessionsService } from './sessions.service';

@ApiTags('auth')
@ApiPublic()
@Controller('auth')
export class AuthController {
  constructor(
    private readonly auth: AuthService,
    private readonly sessions: SessionsService,
  ) {}

  @Post('register')
  @Public()
  @UseGuards(AuthThrottleGuard)
  @ApiOperation({ summary: 'Create an account' })
  @ApiCreatedResponse({ type: PrivateUserDto })
  @ApiErrors(400, 409, 413, 415, 429)
  register(@Body() dto: RegisterDto) {
    return this.auth.register(dto);
  }

  @Post('login')
  @Public()
  @UseGuards(AuthThrottleGuard)
  @HttpCode(200)
  @ApiOperation({ summary: 'Get an access token; 401 does not say which part was wrong; 403 for a disabled account' })
  @ApiOkResponse({ type: LoginResponseDto })
  @ApiErrors(400, 401, 403, 413, 415, 429)
  login(@Body() dto: LoginDto, @ClientAddress() ip: string) {
    return this.auth.login(dto, ip);
  }

  @Post('logout')
  @HttpCode(204)
  @ApiBearerAuth(BEARER)
  @ApiOperation({ summary: 'Revoke the presented token (its sockets are disconnected)' })
  @ApiNoContent()
  @ApiErrors(400, 401, 413, 415, 429) // no body is read, but a malformed or huge one is refused first
  async logout(@CurrentUser() user: AuthUser): Promise<void> {
    await this.sessions.logout(user);
  }

  @Post('logout-all')
  @HttpCode(204)
  @ApiBearerAuth(BEARER)
  @ApiOperation({ summary: "Revoke every token of the caller and disconnect all the caller's sockets" })
  @ApiNoContent()
  @ApiErrors(400, 401, 413, 415, 429) // no body is read, but a malformed or huge one is refused first
  async logoutAll(@CurrentUser() user: AuthUser): Promise<void> {
    await this.sessions.logoutAll(user);
  }
}
