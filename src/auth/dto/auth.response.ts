import { ApiProperty, ApiSchema } from '@nestjs/swagger';
import { PrivateUserDto } from '../../users/dto/user.response';

@ApiSchema({ name: 'LoginResult' })
export class LoginResponseDto {
  @ApiProperty({
    description: 'Send as `Authorization: Bearer <accessToken>` and as the socket.io `auth.token`',
    example: 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOjd9.c2ln',
  })
  accessToken: string;

  @ApiProperty({ type: PrivateUserDto })
  user: PrivateUserDto;
}
