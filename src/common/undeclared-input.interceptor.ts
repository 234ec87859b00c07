import { CallHandler, ExecutionContext, Injectable, NestInterceptor } from '@nestjs/common';
import { ROUTE_ARGS_METADATA } from '@nestjs/common/constants';
import { RouteParamtypes } from '@nestjs/common/enums/route-paramtypes.enum';
import type { Request } from 'express';
import type { Observable } from 'rxjs';
import { AppError } from './errors';

/** What a handler declares it reads: a @Body(), a @Query() (route metadata does not change at run time). */
interface Declared {
  body: boolean;
  query: boolean;
}

/** Query parameters named in an answer at most, and how much of each name: a client may send thousands. */
const NAMED_MAX = 10;
const NAME_MAX = 64;

/**
 * Input a route does not read is refused, as routes with a DTO refuse unknown fields:
 *  - a body with content on a route that takes none: `POST /auth/logout-all {"everywhere":
 *    false}` answered 204 and did something the client did not ask for. An empty JSON
 *    object or array passes.
 *  - query parameters on a route that takes none: `GET /chatrooms?limit=1` answered every
 *    room, while routes with a query DTO refuse a parameter they do not know (a probe).
 * Runs after the guards, so an unauthenticated request still gets its 401.
 */
@Injectable()
export class UndeclaredInputInterceptor implements NestInterceptor {
  private readonly declared = new WeakMap<object, Declared>();

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() !== 'http') return next.handle();
    const declared = this.declaredBy(context);
    const req = context.switchToHttp().getRequest<Request>();
    if (!declared.body && hasContent(req)) {
      throw AppError.validation('This route takes no request body', [{ field: '', errors: ['must be empty'] }]);
    }
    if (!declared.query) {
      const names = Object.keys(req.query ?? {});
      if (names.length) {
        throw AppError.validation(
          'This route takes no query parameters',
          names.slice(0, NAMED_MAX).map((name) => {
            const field = name.length > NAME_MAX ? `${name.slice(0, NAME_MAX)}…` : name;
            return {
              field,
              errors: [field ? `property ${field} should not exist` : 'a parameter without a name should not exist'],
            };
          }),
        );
      }
    }
    return next.handle();
  }

  private declaredBy(context: ExecutionContext): Declared {
    const handler = context.getHandler();
    let declared = this.declared.get(handler);
    if (!declared) {
      const args = (Reflect.getMetadata(ROUTE_ARGS_METADATA, context.getClass(), handler.name) ?? {}) as object;
      const keys = Object.keys(args);
      const takes = (type: RouteParamtypes) => keys.some((key) => key.startsWith(`${type}:`));
      declared = { body: takes(RouteParamtypes.BODY), query: takes(RouteParamtypes.QUERY) };
      this.declared.set(handler, declared);
    }
    return declared;
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
