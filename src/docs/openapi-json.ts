import type { INestApplication } from '@nestjs/common';
import type { OpenAPIObject } from '@nestjs/swagger';
import type { Request, Response } from 'express';

/**
 * Serves the OpenAPI document at `path` as JSON serialized once, on the first request.
 * @nestjs/swagger builds the document once but serializes it again for every request:
 * anyone, without a token, could make the server stringify it over and over (a probe
 * pipelining GETs of /docs-json on 60 connections grew the process by 871 MB while
 * reading 432 KB). Its YAML twin (/docs-yaml, a js-yaml dump per request) is not served.
 */
export function serveOpenApiJson(app: INestApplication, path: string, document: () => OpenAPIObject): void {
  let body: Buffer | undefined;
  app.getHttpAdapter().get(path, (_req: Request, res: Response) => {
    body ??= Buffer.from(JSON.stringify(document()));
    res.type('application/json').send(body);
  });
}
