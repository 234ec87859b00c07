import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { createApp } from './app.factory';
import { AppModule } from './app.module';
import { checkDependencies } from './cli/preflight';
import { AppConfig } from './config/app-config';

/**
 * `node dist/src/main.js` serves HTTP + socket.io (and, unless WORKER_ENABLED=false, the
 * persistence worker). `--worker` runs only the worker. Unreachable PostgreSQL or Redis stop
 * the boot with a message that says which and how to start them.
 */
async function main(): Promise<void> {
  const workerOnly = process.argv.includes('--worker');
  const config = AppConfig.fromEnv(
    workerOnly ? { ...process.env, HTTP_ENABLED: 'false', WORKER_ENABLED: 'true' } : process.env,
  );
  await checkDependencies(config);
  if (!config.httpEnabled) {
    const ctx = await NestFactory.createApplicationContext(AppModule.forRoot(config));
    ctx.enableShutdownHooks();
    new Logger('Worker').log('persistence worker running (no HTTP)');
    return;
  }
  const app = await createApp(config);
  await app.listen(config.port);
  new Logger('Main').log(`listening on :${config.port} (worker ${config.workerEnabled ? 'on' : 'off'})`);
}

main().catch((err: Error) => {
  // One line, no stack: configuration and dependency errors are for operators.
  console.error(`Startup failed: ${err.message}`);
  process.exit(1);
});
