import { redactUrl } from '../logging/logger';
import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { Request, Response } from 'express';
import { ErrorCode, isValueTooLong, toErrorBody } from './errors';

/**
 * The one REST error filter: every error leaves as `{statusCode, code, message, details?}`.
 * Unexpected errors are logged with the request id and answered with a bare 500, so no
 * stack trace or SQL reaches a client.
 */
@Catch()
export class HttpExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('HttpError');

  catch(exception: unknown, host: ArgumentsHost): void {
    if (host.getType() !== 'http') return; // sockets have their own filter
    const ctx = host.switchToHttp();
    const req = ctx.getRequest<Request & { id?: string }>();
    const res = ctx.getResponse<Response>();
    const body = toErrorBody(exception);
    if (body.code === ErrorCode.Internal && !(exception instanceof HttpException)) {
      const err = exception as Error;
      this.logger.error(`[${req.id}] ${req.method} ${redactUrl(req.url)}: ${err?.message}`, err?.stack);
    } else if (body.code === ErrorCode.Unavailable) {
      this.logger.warn(`[${req.id}] ${req.method} ${redactUrl(req.url)}: ${(exception as Error)?.message}`);
    } else if (isValueTooLong(exception)) {
      // The client gets a 400, but its value passed validation: a DTO lacks a length limit.
      this.logger.warn(
        `[${req.id}] ${req.method} ${redactUrl(req.url)}: a value passed validation and overflowed its column (a DTO lacks a length limit): ${(exception as Error)?.message}`,
      );
    }
    if (res.headersSent) return;
    // Every RATE_LIMITED carries details.retryAfterMs; HTTP clients and proxies read Retry-After.
    const retryAfterMs = (body.details as { retryAfterMs?: unknown } | undefined)?.retryAfterMs;
    if (body.code === ErrorCode.RateLimited && typeof retryAfterMs === 'number' && !res.getHeader('Retry-After')) {
      res.setHeader('Retry-After', String(Math.max(1, Math.ceil(retryAfterMs / 1000))));
    }
    res.status(body.statusCode).json(body);
  }
}
