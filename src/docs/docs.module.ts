import { Module } from '@nestjs/common';
import { AsyncApiController } from './asyncapi.controller';

/** Documents served next to the OpenAPI UI (which app.factory.ts sets up at /docs). */
@Module({ controllers: [AsyncApiController] })
export class DocsModule {}
