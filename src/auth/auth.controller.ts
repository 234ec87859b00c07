import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import { ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiErrors, ApiPublic } from '../common/openapi';
import { PrivateUserDto } from '../users/dto/user.response';
import { AuthService } from './auth.service';
import { Public } from './decorators';
import { LoginDto, RegisterDto } from './dto/auth.dto';
import { LoginResponseDto } from './dto/auth.response';

@ApiTags('auth')
@ApiPublic()
@Public()
@Controller('auth')
export class AuthController {
  constructor(private readonly auth: AuthService) {}

  @Post('register')
  @ApiOperation({ summary: 'Create an account' })
  @ApiCreatedResponse({ type: PrivateUserDto })
  @ApiErrors(400, 409, 413, 429)
  register(@Body() dto: RegisterDto) {
    return this.auth.register(dto);
  }

  @Post('login')
  @HttpCode(200)
  @ApiOperation({ summary: 'Get an access token; 401 does not say which part was wrong' })
  @ApiOkResponse({ type: LoginResponseDto })
  @ApiErrors(400, 401, 413, 429)
  login(@Body() dto: LoginDto) {
    return this.auth.login(dto);
  }
}
