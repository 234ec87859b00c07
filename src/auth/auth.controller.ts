import { Body, Controller, HttpCode, Post, UseGuards } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiNoContentResponse,
  ApiOperation,
  ApiTags,
  ApiTooManyRequestsResponse,
} from '@nestjs/swagger';
import { AuthThrottleGuard } from './auth-throttle.guard';
import { AuthService } from './auth.service';
import type { AuthUser } from './auth.types';
import { CurrentUser, Public } from './decorators';
import { LoginDto, RegisterDto } from './dto/auth.dto';
import { SessionsService } from './sessions.service';

@ApiTags('auth')
@Controller('auth')
export class AuthController {
  constructor(
    private readonly auth: AuthService,
    private readonly sessions: SessionsService,
  ) {}

  @Post('register')
  @Public()
  @UseGuards(AuthThrottleGuard)
  @ApiTooManyRequestsResponse({ description: 'RATE_LIMITED, with Retry-After (seconds)' })
  register(@Body() dto: RegisterDto) {
    return this.auth.register(dto);
  }

  @Post('login')
  @Public()
  @UseGuards(AuthThrottleGuard)
  @HttpCode(200)
  @ApiTooManyRequestsResponse({ description: 'RATE_LIMITED, with Retry-After (seconds)' })
  login(@Body() dto: LoginDto) {
    return this.auth.login(dto);
  }

  @Post('logout')
  @HttpCode(204)
  @ApiBearerAuth()
  @ApiOperation({ summary: 'Revoke the presented token (its sockets are disconnected)' })
  @ApiNoContentResponse()
  async logout(@CurrentUser() user: AuthUser): Promise<void> {
    await this.sessions.logout(user);
  }

  @Post('logout-all')
  @HttpCode(204)
  @ApiBearerAuth()
  @ApiOperation({ summary: "Revoke every token of the caller and disconnect all the caller's sockets" })
  @ApiNoContentResponse()
  async logoutAll(@CurrentUser() user: AuthUser): Promise<void> {
    await this.sessions.logoutAll(user);
  }
}
