import { Controller, Get, Header, Req } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Request } from 'express';
import { Public } from '../auth/decorators';
import { buildAsyncApiDocument } from './asyncapi.document';
import { renderAsyncApiPage } from './asyncapi.page';

/** The socket.io interface: `/docs/asyncapi.json` (AsyncAPI 3) and a readable page at `/docs/asyncapi`. */
@Public()
@ApiExcludeController()
@Controller('docs')
export class AsyncApiController {
  /** The server entry names the host the caller reached, so the document works as served. */
  @Get('asyncapi.json')
  document(@Req() req: Request) {
    return buildAsyncApiDocument(req.headers.host);
  }

  @Get('asyncapi')
  @Header('content-type', 'text/html; charset=utf-8')
  page(@Req() req: Request): string {
    return renderAsyncApiPage(buildAsyncApiDocument(req.headers.host));
  }
}
