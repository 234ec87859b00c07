import { Body, Controller, HttpCode, Param, Patch, Post, UseGuards } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { AdminGuard } from '../auth/admin.guard';
import type { AuthUser } from '../auth/auth.types';
import { CurrentUser } from '../auth/decorators';
import { SetRoleDto } from '../auth/dto/session.dto';
import { SessionsService } from '../auth/sessions.service';
import { IdParamPipe } from '../common/id-param.pipe';
import { ApiErrors, ApiIntParam, ApiNoContent, ApiProtected } from '../common/openapi';

/** Account administration; every action is written to admin_audit. */
@ApiTags('admin')
@ApiProtected()
@ApiErrors(400, 403, 404)
@UseGuards(AdminGuard)
@Controller('admin/users')
export class AdminUsersController {
  constructor(private readonly sessions: SessionsService) {}

  @Post(':id/disable')
  @HttpCode(204)
  @ApiErrors(409)
  @ApiOperation({ summary: "Disable: the user's tokens stop working and their sockets are disconnected" })
  @ApiNoContent()
  @ApiIntParam('id')
  async disable(@CurrentUser() admin: AuthUser, @Param('id', IdParamPipe) id: number): Promise<void> {
    await this.sessions.setDisabled(admin.id, id, true);
  }

  @Post(':id/enable')
  @HttpCode(204)
  @ApiOperation({ summary: 'Enable again: the user logs in anew (tokens from before the disable stay revoked)' })
  @ApiNoContent()
  @ApiIntParam('id')
  async enable(@CurrentUser() admin: AuthUser, @Param('id', IdParamPipe) id: number): Promise<void> {
    await this.sessions.setDisabled(admin.id, id, false);
  }

  @Patch(':id/role')
  @HttpCode(204)
  @ApiErrors(409, 413, 415)
  @ApiOperation({ summary: "Promote or demote; applies at once, the user's sockets reconnect" })
  @ApiNoContent()
  @ApiIntParam('id')
  async setRole(
    @CurrentUser() admin: AuthUser,
    @Param('id', IdParamPipe) id: number,
    @Body() dto: SetRoleDto,
  ): Promise<void> {
    await this.sessions.setRole(admin.id, id, dto.role);
  }
}
