import { BeforeApplicationShutdown, Global, Injectable, Module } from '@nestjs/common';

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
