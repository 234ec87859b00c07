import { Logger } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import type { MetricsService } from '../metrics/metrics.service';

type ObservedRequest = Request & { id?: string; user?: { id?: number } };

/**
 * One log line and one duration observation per HTTP request, when the response finishes.
 * The route is the template (`/chatrooms/:id/messages`), never the raw path, so metric
 * labels stay few; requests that match no route count as `unmatched`. Only chosen fields
 * are logged: no headers, query strings or bodies, hence no tokens or passwords.
 */
export function requestObserver(metrics: MetricsService) {
  const logger = new Logger('HTTP');
  return (req: ObservedRequest, res: Response, next: NextFunction): void => {
    const start = performance.now();
    res.on('finish', () => {
      const seconds = (performance.now() - start) / 1000;
      const route = routeOf(req);
      metrics.httpDuration.observe({ method: req.method, route, status: String(res.statusCode) }, seconds);
      // Probes and scrapes arrive every few seconds from every checker: debug unless they fail.
      const routine = res.statusCode < 400 && (route.startsWith('/health') || route === '/metrics');
      logger[routine ? 'debug' : 'log']({
        msg: 'request',
        reqId: req.id,
        method: req.method,
        route,
        path: req.path,
        status: res.statusCode,
        durationMs: Math.round(seconds * 10_000) / 10,
        userId: req.user?.id,
      });
    });
    next();
  };
}

function routeOf(req: Request): string {
  const path = (req.route as { path?: unknown } | undefined)?.path;
  return typeof path === 'string' ? `${req.baseUrl}${path}` : 'unmatched';
}
