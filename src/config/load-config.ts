import { Logger } from '@nestjs/common';
import { AppConfig } from './app-config';
import { validateEnv } from './env.validation';

/**
 * The configuration from the environment (process.env by default), validated: a wrong
 * variable stops the boot with a line that names it. `quiet`: skip warnings another part of
 * the same process has already given.
 */
export function loadConfig(raw: Record<string, unknown> = process.env, opts: { quiet?: boolean } = {}): AppConfig {
  const env = validateEnv(raw);
  if (!env.JWT_SECRET && !opts.quiet) {
    new Logger('Config').warn('JWT_SECRET is not set: using a development secret (refused in production)');
  }
  return new AppConfig(env);
}
