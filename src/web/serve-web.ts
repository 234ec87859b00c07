import { Logger } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { Response } from 'express';
import { existsSync } from 'node:fs';
import path from 'node:path';

/**
 * The package root, found from this file whether it runs compiled (dist/src/web) or from
 * source under Jest (src/web): the nearest folder up with a package.json.
 */
function packageRoot(from = __dirname): string {
  let dir = from;
  while (!existsSync(path.join(dir, 'package.json')) && path.dirname(dir) !== dir) dir = path.dirname(dir);
  return dir;
}

/** Where `npm run build:web` (Vite) writes the web client; the Docker image copies dist/. */
export const WEB_ROOT = path.join(packageRoot(), 'dist', 'web');

/**
 * Serves the built web client at `/`. The client routes with the URL hash (`/#/rooms/5`), so
 * only real files are served here and no fallback can shadow an API route, `/docs`,
 * `/socket.io`, `/health*` or `/metrics`. Without a build, the server runs API-only.
 */
export function serveWebClient(app: NestExpressApplication, root = WEB_ROOT): void {
  if (!existsSync(path.join(root, 'index.html'))) {
    new Logger('Web').warn(`no web client build at ${root} (npm run build:web): serving the API only`);
    return;
  }
  // Hashed asset names never change content: cache them for a year; index.html revalidates.
  app.useStaticAssets(root, {
    index: 'index.html',
    redirect: false,
    setHeaders: (res: Response, file: string) =>
      res.setHeader(
        'Cache-Control',
        file.includes(`${path.sep}assets${path.sep}`) ? 'public, max-age=31536000, immutable' : 'no-cache',
      ),
  });
}
