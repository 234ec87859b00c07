import { CallHandler, ExecutionContext, Injectable, NestInterceptor } from '@nestjs/common';
import { ROUTE_ARGS_METADATA } from '@nestjs/common/constants';
import { RouteParamtypes } from '@nestjs/common/enums/route-paramtypes.enum';
import type { Request } from 'express';
import type { Observable } from 'rxjs';
import { AppError } from './errors';

/**
 * Routes that take no body refuse one that has content, as routes with a body refuse unknown
 * fields: `POST /auth/logout-all {"everywhere": false}` answered 204 and did something the
 * client did not ask for. An empty JSON object or array passes. Runs after the guards, so an
 * unauthenticated request still gets its 401.
 */
@Injectable()
export class NoBodyInterceptor implements NestInterceptor {
  /** Per handler: whether it declares a @Body() (route metadata does not change at run time). */
  private readonly takesBody = new WeakMap<object, boolean>();

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() !== 'http') return next.handle();
    const handler = context.getHandler();
    let takes = this.takesBody.get(handler);
    if (takes === undefined) {
      const args = (Reflect.getMetadata(ROUTE_ARGS_METADATA, context.getClass(), handler.name) ?? {}) as object;
      takes = Object.keys(args).some((key) => key.startsWith(`${RouteParamtypes.BODY}:`));
      this.takesBody.set(handler, takes);
    }
    if (!takes && hasContent(context.switchToHttp().getRequest<Request>())) {
      throw AppError.validation('This route takes no request body', [{ field: '', errors: ['must be empty'] }]);
    }
    return next.handle();
  }
}

/**
 * JSON is parsed (an empty object or array is no content); any other type is not, so there
 * any bytes count: text, a form, a file sent to a route that takes none.
 */
function hasContent(req: Request): boolean {
  const body: unknown = req.body;
  if (body === undefined || body === null) {
    // Chunked bodies of other types are let through: empty ones are common and cannot be told apart here.
    return Number(req.headers['content-length'] ?? 0) > 0;
  }
  if (Array.isArray(body)) return body.length > 0;
  if (typeof body === 'object') return Object.keys(body).length > 0;
  return true;
}
