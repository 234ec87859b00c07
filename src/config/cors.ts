import type { AppConfig } from './app-config';

/**
 * Listed origins get credentials (cookies, if a client ever uses them); "*" means any
 * origin WITHOUT credentials, never an echo of the caller's origin with credentials.
 * Bearer tokens travel in a header, so "*" is enough for token-based clients.
 */
export function corsOptions(config: AppConfig): { origin: string | string[]; credentials: boolean } {
  return config.corsOrigins === '*'
    ? { origin: '*', credentials: false }
    : { origin: config.corsOrigins, credentials: true };
}
