import { HttpException, HttpStatus } from '@nestjs/common';
import type { ErrorCode as ContractErrorCode } from '@chat-backend/protocol';

/**
 * The public contract's error codes (REST bodies and socket acks), by name. The list itself
 * is the protocol package's ERROR_CODES, which clients and the AsyncAPI document read: a
 * name here must be one of them (`satisfies`), and every one of them needs a status below.
 */
export const ErrorCode = {
  Unauthorized: 'UNAUTHORIZED',
  Forbidden: 'FORBIDDEN',
  NotFound: 'NOT_FOUND',
  ValidationFailed: 'VALIDATION_FAILED',
  Conflict: 'CONFLICT',
  RateLimited: 'RATE_LIMITED',
  PayloadTooLarge: 'PAYLOAD_TOO_LARGE',
  Unavailable: 'UNAVAILABLE',
  Internal: 'INTERNAL',
} as const satisfies Record<string, ContractErrorCode>;
export type ErrorCode = ContractErrorCode;

const STATUS_OF: Record<ErrorCode, number> = {
  UNAUTHORIZED: HttpStatus.UNAUTHORIZED,
  FORBIDDEN: HttpStatus.FORBIDDEN,
  NOT_FOUND: HttpStatus.NOT_FOUND,
  VALIDATION_FAILED: HttpStatus.BAD_REQUEST,
  CONFLICT: HttpStatus.CONFLICT,
  RATE_LIMITED: HttpStatus.TOO_MANY_REQUESTS,
  PAYLOAD_TOO_LARGE: HttpStatus.PAYLOAD_TOO_LARGE,
  UNAVAILABLE: HttpStatus.SERVICE_UNAVAILABLE,
  INTERNAL: HttpStatus.INTERNAL_SERVER_ERROR,
};

/** The body of every error: REST responses, and (without statusCode) socket acks. */
export interface ErrorBody {
  statusCode: number;
  code: ErrorCode;
  message: string;
  details?: unknown;
}

/**
 * The one exception services throw. Transport-neutral: the HTTP filter and the gateway
 * filter both turn it into the contract's error shape.
 */
export class AppError extends HttpException {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown,
  ) {
    super({ statusCode: STATUS_OF[code], code, message, details }, STATUS_OF[code]);
  }

  static notFound(what: string): AppError {
    return new AppError(ErrorCode.NotFound, `${what} not found`);
  }

  static forbidden(message = 'You are not allowed to do this'): AppError {
    return new AppError(ErrorCode.Forbidden, message);
  }

  static validation(message: string, details?: unknown): AppError {
    return new AppError(ErrorCode.ValidationFailed, message, details);
  }
}

const CODE_OF_STATUS: Record<number, ErrorCode> = Object.fromEntries(
  Object.entries(STATUS_OF).map(([code, status]) => [status, code as ErrorCode]),
);

/**
 * Any thrown value → the contract's error body. Known HttpExceptions keep their status;
 * anything else is INTERNAL with a generic message (the caller logs the real error).
 */
export function toErrorBody(err: unknown): ErrorBody {
  if (err instanceof AppError) {
    return err.getResponse() as ErrorBody;
  }
  // Ours, thrown in an Express middleware (the JSON parser's verify hook): Nest hands it on
  // wrapped in a plain HttpException of its message and status, `details` lost.
  if (err instanceof HttpException && err.cause instanceof AppError) {
    return err.cause.getResponse() as ErrorBody;
  }
  if (isUndecodablePath(err)) {
    return AppError.validation('A path parameter is not valid percent-encoded UTF-8', [
      { field: 'path', errors: ['must be valid percent-encoded UTF-8'] },
    ]).getResponse() as ErrorBody;
  }
  if (err instanceof HttpException) {
    const status = err.getStatus();
    const res = err.getResponse();
    const raw = typeof res === 'string' ? res : (res as { message?: unknown }).message;
    const message = typeof raw === 'string' ? raw : Array.isArray(raw) ? raw.join('; ') : err.message;
    return { statusCode: status, code: CODE_OF_STATUS[status] ?? codeForStatus(status), message };
  }
  if ((err as { code?: unknown } | null)?.code === 'P2025') {
    // Prisma: the row to update or delete is gone, e.g. two requests removing the same member.
    return { statusCode: 404, code: ErrorCode.NotFound, message: 'Not found' };
  }
  if (isValueTooLong(err)) return valueTooLongBody(err);
  if (isUnavailable(err)) {
    return { statusCode: 503, code: ErrorCode.Unavailable, message: 'A backing service is unavailable; retry shortly' };
  }
  const status = httpStatusOf(err);
  if (status && status >= 400 && status < 500) {
    // body-parser and friends: malformed JSON (400), body too large (413)
    const code = CODE_OF_STATUS[status] ?? ErrorCode.ValidationFailed;
    const message = status === 413 ? 'Request body is too large' : 'Malformed request body';
    return { statusCode: status, code, message };
  }
  return { statusCode: 500, code: ErrorCode.Internal, message: 'Internal server error' };
}

/**
 * Express's router could not percent-decode a path parameter (`/users/%ED%A0%80`): its
 * URIError carries status 400, and its message quotes the raw parameter.
 */
function isUndecodablePath(err: unknown): boolean {
  if (err instanceof URIError) return httpStatusOf(err) === 400;
  if (!(err instanceof HttpException) || err.getStatus() !== 400) return false;
  const res = err.getResponse();
  const message = typeof res === 'string' ? res : (res as { message?: unknown }).message;
  return typeof message === 'string' && message.startsWith('Failed to decode param');
}

/**
 * A string longer than its varchar(n) column: Prisma's P2000, or SQL state 22001 from plain
 * SQL. The client's value is at fault, so VALIDATION_FAILED, not INTERNAL. The DTO rules
 * (MaxCodePoints) should have refused it already; this is the backstop for one that did not.
 */
export function isValueTooLong(err: unknown): boolean {
  return errorCodes(err).some((c) => c === 'P2000' || c === '22001');
}

/**
 * The column is named when the error says which (`meta.column_name`, or the driver adapter's
 * `column`), as the API field: the schema maps each camelCase field to a snake_case column.
 * PostgreSQL itself does not report the column for this error, so usually there is none.
 */
function valueTooLongBody(err: unknown): ErrorBody {
  const meta = (err as { meta?: { column_name?: unknown; driverAdapterError?: { cause?: { column?: unknown } } } })
    .meta;
  const raw = meta?.column_name ?? meta?.driverAdapterError?.cause?.column;
  // Possibly table-qualified; anything else ("(not available)") names no field.
  const column = typeof raw === 'string' ? /^(?:\w+\.)*(\w+)$/.exec(raw)?.[1] : undefined;
  if (!column) return AppError.validation('A value is longer than its field allows').getResponse() as ErrorBody;
  const field = column.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
  return AppError.validation(`Invalid fields: ${field}`, [
    { field, errors: [`${field} is longer than the field allows`] },
  ]).getResponse() as ErrorBody;
}

function codeForStatus(status: number): ErrorCode {
  return status >= 500 ? ErrorCode.Internal : ErrorCode.ValidationFailed;
}

function httpStatusOf(err: unknown): number | undefined {
  const s =
    (err as { status?: unknown; statusCode?: unknown } | null)?.status ??
    (err as { statusCode?: unknown } | null)?.statusCode;
  return typeof s === 'number' ? s : undefined;
}

/**
 * The codes a database error carries, wherever its layer put them: node-postgres' `code`
 * (a SQLSTATE; a Prisma error's own code there), a driver adapter error's
 * `cause.originalCode`, or a Prisma known-request error's `meta.driverAdapterError.cause`.
 */
export function errorCodes(err: unknown): string[] {
  const e = err as {
    code?: unknown;
    cause?: { originalCode?: unknown };
    meta?: { driverAdapterError?: { cause?: { originalCode?: unknown } } };
  } | null;
  if (!e || typeof e !== 'object') return [];
  const codes = [e.code, e.cause?.originalCode, e.meta?.driverAdapterError?.cause?.originalCode];
  return codes.filter((c): c is string => typeof c === 'string');
}

/**
 * A transaction PostgreSQL aborted to break a deadlock or a serialization conflict (Prisma's
 * P2034, or the SQL states 40P01 / 40001 from plain SQL): running it again may succeed.
 */
export function isTransactionConflict(err: unknown): boolean {
  return errorCodes(err).some((c) => c === 'P2034' || c === '40P01' || c === '40001');
}

/**
 * Redis or PostgreSQL unreachable (down, restarting, or closing during shutdown; no
 * database connection within DATABASE_CONNECT_TIMEOUT_MS), a
 * transaction aborted by a conflict that outlived its retries, or one Prisma could not start
 * or finish in time because the pool was busy (P2028; P2024, a connection not had in time):
 * the caller may retry, so it is UNAVAILABLE, not INTERNAL.
 */
const UNAVAILABLE_CODES = new Set([
  ...['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT'],
  ...['P1001', 'P1017', 'P2024', 'P2028'],
  // Shut down by an administrator or a crash, starting up; too many connections; the
  // database gone (dropped or renamed by an operator: nothing the client did). Also every
  // 08xxx, PostgreSQL's connection exceptions.
  ...['57P01', '57P02', '57P03', '53300', '3D000'],
]);

export function isUnavailable(err: unknown): boolean {
  const e = err as { name?: string; message?: string; code?: string } | null;
  if (!e || typeof e !== 'object') return false;
  if (e.name === 'MaxRetriesPerRequestError' || isTransactionConflict(e)) return true;
  if (errorCodes(e).some((c) => UNAVAILABLE_CODES.has(c) || /^08[0-9A-Z]{3}$/.test(c))) return true;
  return /Connection is closed|Stream isn't writeable|Connection terminated|Cannot use a pool after calling end|timeout exceeded when trying to connect/.test(
    e.message ?? '',
  );
}
