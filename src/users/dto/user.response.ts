import { ApiProperty, ApiSchema } from '@nestjs/swagger';

/** What any user may see of another (users/user.presenter.ts toPublicUser). */
@ApiSchema({ name: 'PublicUser', description: 'A user as others see it' })
export class PublicUserDto {
  @ApiProperty({ type: 'integer', example: 7 })
  id: number;

  @ApiProperty({ example: 'alice_01' })
  username: string;

  @ApiProperty({ example: 'Alice', description: 'Display name (the username unless set)' })
  nickName: string;

  @ApiProperty({ example: '', description: 'Avatar URL; "" when none' })
  headPic: string;

  @ApiProperty({ format: 'date-time', example: '2026-11-30T09:12:44.120Z' })
  createdAt: string;
}

/** The owner's and admins' view (toPrivateUser). */
@ApiSchema({ name: 'User', description: 'A user as the user itself and admins see it: also email and role' })
export class PrivateUserDto extends PublicUserDto {
  @ApiProperty({ type: 'string', nullable: true, format: 'email', example: 'alice@example.com' })
  email: string | null;

  @ApiProperty({ enum: ['user', 'admin'], enumName: 'UserRole', example: 'user' })
  role: 'user' | 'admin';
}
