import { CallHandler, ExecutionContext, Injectable, NestInterceptor } from '@nestjs/common';
import { ROUTE_ARGS_METADATA } from '@nestjs/common/constants';
import { RouteParamtypes } from '@nestjs/common/enums/route-paramtypes.enum';
import type { Request } from 'express';
import type { Observable } from 'rxjs';
import { AppError } from './errors';

/**
 * Routes that take no body refuse one that has content, as routes with a body refuse unknown
 * fields: `POST /auth/logout-all {"everywhere": false}` answered 204 and did something the
 * client did not ask for. An empty object (what a client sending `{}` or JSON with no fields
 * means) passes. Runs after the guards, so an unauthenticated request still gets its 401.
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
    if (!takes && hasContent(context.switchToHttp().getRequest<Request>().body)) {
      throw AppError.validation('This route takes no request body', [{ field: '', errors: ['must be empty'] }]);
    }
    return next.handle();
  }
}

function hasContent(body: unknown): boolean {
  if (body === undefined || body === null) return false;
  if (Array.isArray(body)) return body.length > 0;
  if (typeof body === 'object') return Object.keys(body).length > 0;
  return true;
}
