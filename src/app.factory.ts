import { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, type OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import helmet from 'helmet';
import { AppModule } from './app.module';
import { RedisIoAdapter } from './chat/redis-io.adapter';
import { refuseDeclaredOversizedBodies } from './common/declared-body-limit.middleware';
import { answerClientErrors, answerConnectRequests, answerFailedExpectations } from './common/http-client-errors';
import { serveUpgradeRequests } from './common/http-upgrade-requests';
import { capConnectionsPerAddress, connectionCapExempt } from './common/http-connections';
import { limitHttpServer } from './common/http-server-limits';
import { SHUTDOWN_SIGNALS } from './common/shutdown-hooks';
import { AppConfig } from './config/app-config';
import { corsOptions } from './config/cors';
import { serveOpenApiJson } from './docs/openapi-json';
import { createLogger } from './logging/logger';
import { requestObserver } from './logging/request-observer';
import { json } from 'express';
import { explainJsonErrors, jsonTooComplex, tooComplexError, unsupportedCharset } from './common/json-guard';
import { MetricsService } from './metrics/metrics.service';
import { serveWebClient } from './web/serve-web';

/** REST bodies above this are refused with 413 before they are parsed. */
export const JSON_BODY_LIMIT_BYTES = 256 * 1024;
/**
 * A declared body above this is refused before any of it is read (see
 * refuseDeclaredOversizedBodies). Between the JSON limit and this, body-parser reads the
 * body and answers 413: a client writing a body a little too large gets that answer rather
 * than a reset connection (closing on unread data resets it; the fuzz suite saw it).
 */
export const EARLY_REFUSAL_BYTES = 4 * JSON_BODY_LIMIT_BYTES;

/**
 * Content-Security-Policy for everything served here: the web client at `/` (its own
 * scripts and styles, images from any https: URL since users post image links, a socket to
 * this same origin) and the Swagger UI at `/docs` (its scripts are files; it needs inline
 * styles and data: images). No upgrade-insecure-requests: self-hosted installs on plain HTTP
 * (a LAN address) would lose every subresource.
 */
const CSP = {
  defaultSrc: ["'self'"],
  baseUri: ["'self'"],
  objectSrc: ["'none'"],
  frameAncestors: ["'none'"],
  formAction: ["'self'"],
  scriptSrc: ["'self'"],
  scriptSrcAttr: ["'none'"],
  styleSrc: ["'self'", "'unsafe-inline'"],
  imgSrc: ["'self'", 'data:', 'https:'],
  fontSrc: ["'self'", 'data:'],
  connectSrc: ["'self'"],
  upgradeInsecureRequests: null,
};

/**
 * Builds the HTTP + socket.io application exactly as `main.ts` serves it; e2e tests use the
 * same function, so they test what runs in production.
 */
export async function createApp(config: AppConfig): Promise<INestApplication> {
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(config), {
    logger: createLogger(config),
    bodyParser: false,
  });
  const metrics = app.get(MetricsService);
  app.use(requestObserver(metrics)); // one log line + duration per request
  app.use(refuseDeclaredOversizedBodies(EARLY_REFUSAL_BYTES)); // before the parser reads any of it
  // express.json itself, not useBodyParser, whose types reserve `verify` for Nest's rawBody:
  // checkJsonBody runs before JSON.parse builds anything, so before authentication.
  app.use(json({ limit: JSON_BODY_LIMIT_BYTES, verify: checkJsonBody }));
  app.use(explainJsonErrors);
  app.use(helmet({ contentSecurityPolicy: { directives: CSP } }));
  app.enableCors(corsOptions(config));
  // Who may set X-Forwarded-For decides req.ip, which login throttling counts by.
  app.set('trust proxy', config.trustProxy);
  app.disable('x-powered-by');
  // No ETag on API answers: each cost a SHA-1 over the whole body (0.56 s of the main thread
  // for 174 large history pages), and the clients fetch live state without revalidating
  // (web/src/chat.ts). The web client's static files keep theirs (serve-static's own).
  app.set('etag', false);
  answerClientErrors(app.getHttpServer());
  answerFailedExpectations(app.getHttpServer());
  answerConnectRequests(app.getHttpServer());
  serveUpgradeRequests(app.getHttpServer());
  // Slow clients, and a shutdown that always ends.
  limitHttpServer(app.getHttpServer(), () => metrics.rateLimited('http_pipelining'));
  // CONNECTIONS_PER_ADDRESS_MAX, for TCP connections and for socket.io sessions alike.
  const exempt = addressCapExempt(app);
  capConnectionsPerAddress(app.getHttpServer(), config.connectionsPerAddressMax, exempt, () =>
    metrics.rateLimited('connections_per_address'),
  );
  app.useWebSocketAdapter(
    new RedisIoAdapter(app, { exempt, onRefused: () => metrics.rateLimited('sessions_per_address') }),
  );
  app.enableShutdownHooks(SHUTDOWN_SIGNALS);
  setupDocs(app);
  serveWebClient(app);
  return app;
}

function setupDocs(app: INestApplication): void {
  const doc = new DocumentBuilder()
    .setTitle('Chat backend')
    .setDescription(
      'REST part of the public contract. Every error is `{statusCode, code, message, details?}` ' +
        '(schema `Error`; each response names the codes it can carry). Real-time events: see README (socket.io).',
    )
    .setVersion('1')
    .setLicense('MIT', 'https://opensource.org/licenses/MIT')
    .addServer('/', 'This server')
    .addBearerAuth(
      { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'accessToken from POST /auth/login' },
      'bearer',
    )
    .build();
  let document: OpenAPIObject | undefined;
  const built = () => (document ??= SwaggerModule.createDocument(app, doc));
  SwaggerModule.setup('docs', app, built, { raw: false }); // the UI; the document is served below
  serveOpenApiJson(app, '/docs-json', built);
}

/** Who CONNECTIONS_PER_ADDRESS_MAX leaves alone: the addresses Express trusts as a proxy. */
function addressCapExempt(app: NestExpressApplication): (address: string) => boolean {
  const express = app.getHttpAdapter().getInstance() as { get(setting: string): unknown };
  return connectionCapExempt(express.get('trust proxy fn') as (address: string, hop: number) => boolean);
}

/**
 * body-parser's `verify` hook: what it throws is the request's answer (an AppError keeps its
 * status). It sees the body's bytes before they are decoded, so it takes UTF-8 only, as JSON
 * between systems must be (RFC 8259): body-parser itself would decode any `utf-*` charset,
 * and in UTF-7 a bracket is no `[` byte, in UTF-16 a character can hold a `"` byte, so the
 * count below would pass a body thousands of levels deep (a probe's 19 ms per request).
 */
function checkJsonBody(_req: unknown, _res: unknown, body: Buffer, charset: string): void {
  if (charset !== 'utf-8' && charset !== 'utf8') throw unsupportedCharset(charset);
  const reason = jsonTooComplex(body);
  if (reason) throw tooComplexError(reason);
}
