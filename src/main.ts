import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { createApp } from './app.factory';
import { AppModule } from './app.module';
import { checkDependencies } from './cli/preflight';
import { ShutdownHooks } from './common/shutdown-hooks';
import { AppConfig } from './config/app-config';
import { PersistThread, runPersistThread } from './persist-thread';

/**
 * `node dist/src/main.js` serves HTTP + socket.io and, unless WORKER_ENABLED=false, runs the
 * persistence worker (in a thread of its own by default, see persist-thread.ts). `--worker`
 * runs only the worker. Unreachable PostgreSQL or Redis stop
 * the boot with a message that says which and how to start them.
 */
async function main(): Promise<void> {
  if (process.argv.includes('--persist-thread')) return runPersistThread();
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
  const threaded = config.workerEnabled && config.workerMode === 'thread';
  const app = await createApp(
    threaded ? AppConfig.fromEnv({ ...process.env, WORKER_ENABLED: 'false' }, { quiet: true }) : config,
  );
  if (threaded) {
    const thread = new PersistThread(__filename);
    thread.start();
    app.get(ShutdownHooks).register(() => thread.stop());
  }
  await app.listen(config.port);
  const worker = !config.workerEnabled ? 'off' : threaded ? 'in a thread' : 'inline';
  new Logger('Main').log(`listening on :${config.port} (worker ${worker})`);
}

main().catch((err: Error) => {
  // One line, no stack: configuration and dependency errors are for operators.
  console.error(`Startup failed: ${err.message}`);
  process.exit(1);
});
