import { BeforeApplicationShutdown, Global, Injectable, Module } from '@nestjs/common';

/**
 * The signals that stop the server gracefully (docker stop, Ctrl-C, a closed terminal). Not
 * Nest's default of every signal: SIGUSR2 is what operators give `--heapsnapshot-signal`,
 * and a heap snapshot must not shut the server down.
 */
export const SHUTDOWN_SIGNALS = ['SIGTERM', 'SIGINT', 'SIGHUP'];

/**
 * Lets code outside the module graph (main.ts: the persistence thread) take part in the
 * application's shutdown, alongside the providers' own beforeApplicationShutdown hooks.
 */
@Injectable()
export class ShutdownHooks implements BeforeApplicationShutdown {
  private readonly hooks: (() => Promise<void>)[] = [];

  register(hook: () => Promise<void>): void {
    this.hooks.push(hook);
  }

  async beforeApplicationShutdown(): Promise<void> {
    await Promise.allSettled(this.hooks.map((h) => h()));
  }
}

@Global()
@Module({ providers: [ShutdownHooks], exports: [ShutdownHooks] })
export class ShutdownHooksModule {}
