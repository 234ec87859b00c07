import { Logger } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import express, { type NextFunction, type Request, type Response } from 'express';
import { existsSync, readdirSync } from 'node:fs';
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
 *
 * The build's files are listed once, at boot, and only a GET or HEAD of one of them reaches
 * the static handler: any other request goes on to the API without a filesystem call. The
 * handler's fs.stat runs on libuv's thread pool, which password hashing also uses, so under
 * a burst of logins every API GET would otherwise wait for a thread just to learn that
 * `/users/me` is not a file. A rebuilt client needs a restart (its asset names change anyway).
 */
export function serveWebClient(app: NestExpressApplication, root = WEB_ROOT): void {
  if (!existsSync(path.join(root, 'index.html'))) {
    new Logger('Web').warn(`no web client build at ${root} (npm run build:web): serving the API only`);
    return;
  }
  const files = webClientPaths(root);
  // Hashed asset names never change content: cache them for a year; index.html revalidates.
  const serve = express.static(root, {
    index: 'index.html',
    redirect: false,
    setHeaders: (res: Response, file: string) =>
      res.setHeader(
        'Cache-Control',
        file.includes(`${path.sep}assets${path.sep}`) ? 'public, max-age=31536000, immutable' : 'no-cache',
      ),
  });
  app.use((req: Request, res: Response, next: NextFunction) => {
    const isFile = (req.method === 'GET' || req.method === 'HEAD') && files.has(req.path);
    if (isFile) serve(req, res, next);
    else next();
  });
}

/**
 * The URL path of every file under `root` (`/index.html`, `/assets/index-1a2b.js`, and `/`
 * for index.html), percent-encoded as a browser asks for it. Dotfiles are left out, as the
 * static handler refuses them anyway.
 */
export function webClientPaths(root: string): Set<string> {
  const paths = new Set<string>(['/']);
  const walk = (dir: string, prefix: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.name.startsWith('.')) continue;
      const url = `${prefix}/${encodeURIComponent(entry.name)}`;
      if (entry.isDirectory()) walk(path.join(dir, entry.name), url);
      else if (entry.isFile()) paths.add(url);
    }
  };
  walk(root, '');
  return paths;
}
