import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { parentPort, Worker } from 'node:worker_threads';
import { AppModule } from './app.module';
import { AppConfig } from './config/app-config';

const STOP = 'stop';

/**
 * The persistence worker in a worker thread of the server process (WORKER_MODE=thread).
 * On its own event loop it keeps storing while socket traffic saturates the main one; run
 * inline, each job's round trips queue behind that traffic and storing all but stops under
 * load (seen in the bench). The thread is the same app in worker-only mode, as
 * `npm run start:worker` runs it; signals reach only the main thread, so it is told to stop.
 */
export class PersistThread {
  private readonly logger = new Logger('PersistThread');
  private worker: Worker | undefined;
  private stopping = false;

  constructor(private readonly entry: string) {}

  start(): void {
    const worker = new Worker(this.entry, { argv: ['--persist-thread'] });
    worker.on('error', (err) => this.logger.error(`persistence thread failed: ${err.message}`));
    worker.on('exit', (code) => {
      if (this.stopping) return;
      this.logger.error(`persistence thread exited (code ${code}); restarting in 1 s`);
      setTimeout(() => this.start(), 1000).unref();
    });
    this.worker = worker;
  }

  /** Lets the thread finish the batch in hand and close its connections. */
  async stop(): Promise<void> {
    this.stopping = true;
    const worker = this.worker;
    if (!worker) return;
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    worker.postMessage(STOP);
    const timer = setTimeout(() => void worker.terminate(), 15_000);
    await exited;
    clearTimeout(timer);
  }
}

/** Inside the thread: the worker-only application until the main thread says stop. */
export async function runPersistThread(): Promise<void> {
  const env = { ...process.env, HTTP_ENABLED: 'false', WORKER_ENABLED: 'true' };
  const config = AppConfig.fromEnv(env, { quiet: true }); // the main thread warned already
  const ctx = await NestFactory.createApplicationContext(AppModule.forRoot(config), { logger: ['error', 'warn'] });
  parentPort!.once('message', (msg) => {
    if (msg !== STOP) return;
    void ctx.close().finally(() => process.exit(0));
  });
}
