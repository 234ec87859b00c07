import { INestApplication, LogLevel } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { AppModule } from './app.module';
import { RedisIoAdapter } from './chat/redis-io.adapter';
import { AppConfig } from './config/app-config';
import { serveWebClient } from './web/serve-web';

const LEVELS: LogLevel[] = ['fatal', 'error', 'warn', 'log', 'debug', 'verbose'];

/** REST bodies above this are refused with 413 before they are parsed. */
const JSON_BODY_LIMIT = '256kb';

/**
 * Builds the HTTP + socket.io application exactly as `main.ts` serves it; e2e tests use the
 * same function, so they test what runs in production.
 */
export async function createApp(config: AppConfig): Promise<INestApplication> {
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(config), {
    logger: LEVELS.slice(0, LEVELS.indexOf(config.logLevel as LogLevel) + 1),
    bodyParser: false,
  });
  app.useBodyParser('json', { limit: JSON_BODY_LIMIT });
  app.enableCors({ origin: config.corsOrigins === '*' ? true : config.corsOrigins, credentials: true });
  app.set('trust proxy', 'loopback');
  app.disable('x-powered-by');
  app.useWebSocketAdapter(new RedisIoAdapter(app));
  app.enableShutdownHooks();
  setupDocs(app);
  serveWebClient(app);
  return app;
}

function setupDocs(app: INestApplication): void {
  const doc = new DocumentBuilder()
    .setTitle('Chat backend')
    .setDescription('REST part of the public contract. Real-time events: see README (socket.io).')
    .setVersion('1')
    .addBearerAuth()
    .build();
  SwaggerModule.setup('docs', app, () => SwaggerModule.createDocument(app, doc), { jsonDocumentUrl: 'docs-json' });
}
