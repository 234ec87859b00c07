import 'reflect-metadata';
import { INestApplicationContext, Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { Server } from 'node:http';
import { setFlagsFromString } from 'node:v8';
import { createApp } from './app.factory';
import { AppModule } from './app.module';
import { checkDependencies } from './cli/preflight';
import { limitHttpServer } from './common/http-server-limits';
import { SHUTDOWN_SIGNALS, ShutdownHooks } from './common/shutdown-hooks';
import { AppConfig } from './config/app-config';
import { loadConfig } from './config/load-config';
import { loadDotenv } from './config/load-dotenv';
import { WorkerStatus } from './health/worker-status';
import { createLogger } from './logging/logger';
import { requestObserver } from './logging/request-observer';
import { MetricsService } from './metrics/metrics.service';
import { PersistThread } from './persist-thread';

/**
 * Connections the kernel holds for the server until it accepts them (Node's default: 511;
 * Linux caps it at net.core.somaxconn). After a restart every client reconnects within a
 * few seconds while each handshake costs the server some CPU: past the queue's size the
 * kernel drops the handshake's last packet and the client waits for TCP's retransmission
 * (1 s, then 2, 4, 8 s) on top of its own reconnect backoff. The listen-queue overflows
 * seen in a connect storm of a few thousand sockets were gone with this size.
 */
const LISTEN_BACKLOG = 4096;

/**
 * How far V8 lets the old generation grow past what the last full collection kept, in
 * percent. V8's own choice on a machine with memory to spare goes up to 300 %, and under
 * load the server's old generation filled with messages that had outlived two young
 * collections on their way through (the persistence batch, acks in flight) and died soon
 * after. Set lower, full collections come more often, each no larger, for a smaller
 * process. At 25 % the CPU per message stayed within run-to-run noise; at 10 % the extra
 * pauses showed in delivery p99 (README, Performance). A `--heap-growing-percent` on the
 * command line wins.
 */
const HEAP_GROWING_PERCENT = 25;

/**
 * `node dist/src/main.js` serves HTTP + socket.io and, unless WORKER_ENABLED=false, runs the
 * persistence worker (in a thread of its own by default, see persist-thread.ts). `--worker`
 * runs only the worker (with /metrics and /health/* on WORKER_HTTP_PORT if set).
 * Unreachable PostgreSQL or Redis stop the boot with a message that says which and how to
 * start them. `.env` is read first; the environment wins over it.
 */
async function main(): Promise<void> {
  if (!process.execArgv.some((a) => a.startsWith('--heap-growing-percent'))) {
    setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
  }
  loadDotenv();
  const workerOnly = process.argv.includes('--worker');
  const config = loadConfig(
    workerOnly ? { ...process.env, HTTP_ENABLED: 'false', WORKER_ENABLED: 'true' } : process.env,
  );
  Logger.overrideLogger(createLogger(config));
  await checkDependencies(config);
  if (!config.httpEnabled) return runWorkerOnly(config);
  const threaded = config.workerEnabled && config.workerMode === 'thread';
  const app = await createApp(threaded ? AppConfig.restore(config, { workerEnabled: false }) : config);
  if (threaded) {
    const thread = new PersistThread(app.get(WorkerStatus), app.get(MetricsService), config);
    thread.start();
    app.get(ShutdownHooks).register(() => thread.stop());
    installTestHook(config, thread);
  }
  // Nest passes listen's extra arguments on to http.Server#listen(port, backlog); its types know only a hostname.
  const listen = app.listen.bind(app) as unknown as (port: number, backlog: number) => Promise<unknown>;
  await listen(config.port, LISTEN_BACKLOG);
  const worker = !config.workerEnabled ? 'off' : threaded ? 'in a thread' : 'inline';
  new Logger('Main').log(`listening on :${config.port} (worker ${worker})`);
}

/** The persistence worker alone; its metrics and health over HTTP only when WORKER_HTTP_PORT is set. */
async function runWorkerOnly(config: AppConfig): Promise<void> {
  const logger = createLogger(config);
  let ctx: INestApplicationContext;
  if (config.workerHttpPort) {
    const app = await NestFactory.create(AppModule.forRoot(config, { ops: true }), { logger });
    const metrics = app.get(MetricsService);
    app.use(requestObserver(metrics));
    // As the server's (app.factory.ts).
    limitHttpServer(app.getHttpServer() as Server, () => metrics.rateLimited('http_pipelining'));
    await app.listen(config.workerHttpPort);
    ctx = app;
  } else {
    ctx = await NestFactory.createApplicationContext(AppModule.forRoot(config), { logger });
  }
  ctx.enableShutdownHooks(SHUTDOWN_SIGNALS);
  const http = config.workerHttpPort ? `, /metrics and /health on :${config.workerHttpPort}` : ' (no HTTP)';
  new Logger('Worker').log(`persistence worker running${http}`);
}

/**
 * e2e tests stall or kill the persistence thread with SIGWINCH (NODE_ENV=test only): a signal
 * the shutdown hooks do not take and Node ignores.
 */
function installTestHook(config: AppConfig, thread: PersistThread): void {
  const action = process.env.PERSIST_THREAD_TEST_HOOK;
  if (config.nodeEnv !== 'test' || (action !== 'stall' && action !== 'exit')) return;
  process.on('SIGWINCH', () => thread.testHook(action));
}

main().catch((err: Error) => {
  // One line, no stack: configuration and dependency errors are for operators. JSON when
  // the logs are (the configuration itself may be what failed, so read the raw variables).
  const format = process.env.LOG_FORMAT || 'auto';
  const json = format === 'json' || (format === 'auto' && process.env.NODE_ENV === 'production');
  const msg = `Startup failed: ${err.message}`;
  console.error(json ? JSON.stringify({ level: 'fatal', time: new Date().toISOString(), pid: process.pid, msg }) : msg);
  process.exit(1);
});
