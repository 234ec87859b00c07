import { applyDecorators, HttpStatus, Type } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiExtraModels,
  ApiParam,
  ApiProperty,
  ApiPropertyOptional,
  ApiResponse,
  ApiSchema,
  getSchemaPath,
} from '@nestjs/swagger';
import { ErrorCode } from './errors';

/**
 * OpenAPI building blocks shared by the controllers, so that documenting a route is two or
 * three decorator lines: its success body (`@ApiOkResponse({type})`, `@ApiPage(Item)`,
 * `@ApiNoContent()`) and the errors it can produce (`@ApiErrors(400, 404)`). The plain `tsc`
 * build runs no swagger CLI plugin: every schema property is declared explicitly.
 */

/** The name every security requirement refers to (DocumentBuilder.addBearerAuth). */
export const BEARER = 'bearer';

@ApiSchema({ name: 'FieldError' })
export class FieldErrorDto {
  @ApiProperty({ example: 'username', description: 'The field, dotted for nested ones; "" for the whole body' })
  field: string;

  @ApiProperty({ type: [String], example: ['username must be longer than or equal to 3 characters'] })
  errors: string[];
}

@ApiSchema({ name: 'NotFoundDetails' })
export class NotFoundDetailsDto {
  @ApiProperty({ type: [String], format: 'uuid', description: 'The message ids that were not found' })
  ids: string[];
}

/** The body of every error, whatever the status (the per-status schemas below narrow it). */
@ApiSchema({ name: 'Error' })
export class ErrorDto {
  @ApiProperty({ type: 'integer', example: 404 })
  statusCode: number;

  @ApiProperty({ enum: Object.values(ErrorCode), enumName: 'ErrorCode', example: 'NOT_FOUND' })
  code: ErrorCode;

  @ApiProperty({ example: 'Chatroom not found' })
  message: string;

  @ApiPropertyOptional({
    oneOf: [{ type: 'array', items: { $ref: '#/components/schemas/FieldError' } }, { type: 'object' }],
    description: 'Machine-readable detail; its shape depends on the code (see the per-status schemas)',
  })
  details?: unknown;
}

interface ErrorSpec {
  code: ErrorCode;
  /** The schema's name, where the code's own (`ValidationFailedError`) belongs to another status. */
  name?: string;
  description: string;
  message: string;
  /** The schema of `details` when this status carries any. */
  details?: { type: Type<unknown> | [Type<unknown>] | 'object'; description: string };
}

const ERRORS: Record<number, ErrorSpec> = {
  400: {
    code: ErrorCode.ValidationFailed,
    description: 'Invalid body, query or path parameter (VALIDATION_FAILED), or a body that is not JSON',
    message: 'Invalid fields: username',
    details: { type: [FieldErrorDto], description: 'Every bad field with its errors' },
  },
  401: {
    code: ErrorCode.Unauthorized,
    description: 'Missing, invalid or expired credentials',
    message: 'Missing bearer token',
  },
  403: {
    code: ErrorCode.Forbidden,
    description: 'Authenticated but not allowed to do this',
    message: 'You are not allowed to do this',
  },
  404: {
    code: ErrorCode.NotFound,
    description: 'Not found, or in a room the caller is not a member of (rooms are not enumerable)',
    message: 'Chatroom not found',
    details: { type: NotFoundDetailsDto, description: 'For message ids: which ones were not found' },
  },
  409: {
    code: ErrorCode.Conflict,
    description: 'Conflicts with the current state',
    message: 'That username is already taken',
    details: { type: [FieldErrorDto], description: 'The field that conflicts' },
  },
  413: {
    code: ErrorCode.PayloadTooLarge,
    description: 'Request body over 256 KiB',
    message: 'Request body is too large',
  },
  415: {
    code: ErrorCode.ValidationFailed,
    name: 'UnsupportedMediaTypeError',
    description: 'A body in a charset other than UTF-8, or a content encoding other than gzip, deflate or br',
    message: 'unsupported charset "UTF-16LE"',
  },
  429: {
    code: ErrorCode.RateLimited,
    description: 'Too many requests; retry after the Retry-After header (seconds)',
    message: 'Too many attempts; retry later',
    details: { type: 'object', description: 'Rate limit details, e.g. retryAfterMs' },
  },
  500: {
    code: ErrorCode.Internal,
    description: 'Unexpected server error (no internals are disclosed)',
    message: 'Internal server error',
  },
  503: {
    code: ErrorCode.Unavailable,
    description: 'PostgreSQL or Redis is unavailable; retry shortly',
    message: 'A backing service is unavailable; retry shortly',
  },
};

export type ErrorStatus = 400 | 401 | 403 | 404 | 409 | 413 | 415 | 429 | 500 | 503;

const errorDtos = new Map<number, Type<unknown>>();

/** A named schema per status (`NotFoundError`, ...): `code` and `statusCode` fixed to one value. */
export function errorDtoFor(status: ErrorStatus): Type<unknown> {
  const existing = errorDtos.get(status);
  if (existing) return existing;
  const spec = ERRORS[status];
  const name = spec.name ?? `${pascal(spec.code)}Error`;
  const dto = class {};
  Object.defineProperty(dto, 'name', { value: `${name}Dto` });
  const proto = dto.prototype;
  ApiProperty({ type: 'integer', enum: [status], example: status })(proto, 'statusCode');
  ApiProperty({ type: 'string', enum: [spec.code], example: spec.code })(proto, 'code');
  ApiProperty({ type: 'string', example: spec.message })(proto, 'message');
  if (spec.details) {
    const { type, description } = spec.details;
    ApiPropertyOptional(
      type === 'object' ? { type: 'object', additionalProperties: true, description } : { type, description },
    )(proto, 'details');
  }
  ApiSchema({ name, description: `${status}: ${spec.description}` })(dto);
  errorDtos.set(status, dto);
  return dto;
}

/** Every status this contract maps to an error code, for tests and docs. */
export const ERROR_STATUSES = Object.keys(ERRORS).map(Number) as ErrorStatus[];

/**
 * The error responses a route can produce, each with its status-specific error schema.
 * 400, 413, 415, 500 and 503 are added by `@ApiProtected()` / `@ApiPublic()` on the controller.
 */
export function ApiErrors(...statuses: ErrorStatus[]): MethodDecorator & ClassDecorator {
  return applyDecorators(
    ...statuses.map((status) =>
      ApiResponse({
        status,
        description: ERRORS[status].description,
        type: errorDtoFor(status),
        ...(status === 429
          ? {
              headers: {
                'Retry-After': { description: 'Seconds to wait before retrying', schema: { type: 'integer' } },
              },
            }
          : {}),
      }),
    ),
  );
}

/**
 * What every route can answer, input or not: a route that takes no body or no query refuses
 * one with 400 (UndeclaredInputInterceptor), and any body is read, so 413 and 415 apply
 * everywhere (body-parser's limits, checkJsonBody). Undocumented, a generated client treated
 * those as unexpected.
 */
const ANY_ROUTE_ERRORS: ErrorStatus[] = [400, 413, 415, 500, 503];

/**
 * Controller level: bearer token required; 401 on every route, 429 from the per-user REST
 * budget (REST_REQUESTS_PER_MIN), and what any route can answer (ANY_ROUTE_ERRORS).
 */
export function ApiProtected(): ClassDecorator {
  return applyDecorators(
    ApiBearerAuth(BEARER),
    ApiExtraModels(ErrorDto, FieldErrorDto),
    ApiErrors(401, 429, ...ANY_ROUTE_ERRORS),
  );
}

/** Controller level: no token needed; only what any route can answer (ANY_ROUTE_ERRORS). */
export function ApiPublic(): ClassDecorator {
  return applyDecorators(ApiExtraModels(ErrorDto, FieldErrorDto), ApiErrors(...ANY_ROUTE_ERRORS));
}

export function ApiNoContent(description = 'Done; no body'): MethodDecorator {
  return ApiResponse({ status: HttpStatus.NO_CONTENT, description });
}

/** A path parameter that is a user or chatroom id (IdParamPipe: int4, 1 and up). */
export function ApiIntParam(name: string, description?: string): MethodDecorator {
  return ApiParam({ name, schema: { type: 'integer', minimum: 1, maximum: 2_147_483_647 }, description });
}

/** A path parameter that is a message id. */
export function ApiUuidParam(name = 'id', description = 'Message id (UUIDv7)'): MethodDecorator {
  return ApiParam({ name, schema: { type: 'string', format: 'uuid' }, description });
}

const pages = new Map<Type<unknown>, Type<unknown>>();

/**
 * `{items: Item[], hasMore, nextCursor?}` as a named schema per item type (`MessagePage`),
 * which code generators turn into a plain class rather than an allOf composition.
 */
export function PageOf(item: Type<unknown>): Type<unknown> {
  const existing = pages.get(item);
  if (existing) return existing;
  const itemName = schemaName(item);
  const page = class {};
  Object.defineProperty(page, 'name', { value: `${itemName}PageDto` });
  const proto = page.prototype;
  ApiProperty({
    type: [item],
    description: 'At most `limit` items, fewer when they are long (250,000 characters of messages a page)',
  })(proto, 'items');
  ApiProperty({ type: 'boolean', description: 'Whether another page follows' })(proto, 'hasMore');
  ApiPropertyOptional({
    type: 'string',
    description: 'Present when hasMore: pass it as the cursor (or before/after) of the next request',
  })(proto, 'nextCursor');
  ApiSchema({ name: `${itemName}Page`, description: `A page of ${itemName} items` })(page);
  pages.set(item, page);
  return page;
}

/** 200 with a page of `item`. */
export function ApiPage(item: Type<unknown>, description?: string): MethodDecorator {
  return ApiResponse({ status: HttpStatus.OK, type: PageOf(item), description });
}

/** The `$ref` of a response DTO, for hand-written schemas (anyOf, oneOf). */
export function refTo(dto: Type<unknown>): { $ref: string } {
  return { $ref: getSchemaPath(dto) };
}

/** The schema name of a DTO: its own @ApiSchema name, else the class name. */
function schemaName(dto: Type<unknown>): string {
  return getSchemaPath(dto).replace('#/components/schemas/', '');
}

function pascal(code: string): string {
  return code
    .toLowerCase()
    .split('_')
    .map((w) => w[0].toUpperCase() + w.slice(1))
    .join('');
}
