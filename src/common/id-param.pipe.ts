import { ArgumentMetadata, Injectable, PipeTransform } from '@nestjs/common';
import { isUUID } from 'class-validator';
import { AppError } from './errors';
import { MAX_INT4 } from './input-rules';

/**
 * A numeric id in the path: decimal digits only, no leading zero, 1..2^31-1. ParseIntPipe
 * checks the format but not the range, so `/users/99999999999` reached PostgreSQL and failed
 * there (500). `/users/01` named user 1: one resource, many paths, which caches, logs and
 * audit trails keep apart. Refusals name the parameter, like every other VALIDATION_FAILED.
 */
@Injectable()
export class IdParamPipe implements PipeTransform<unknown, number> {
  transform(value: unknown, metadata: ArgumentMetadata): number {
    // Path parameters arrive as they came (PayloadValidationPipe leaves them alone).
    const n = typeof value === 'string' ? (/^[1-9]\d{0,9}$/.test(value) ? Number(value) : NaN) : value;
    if (typeof n === 'number' && Number.isInteger(n) && n >= 1 && n <= MAX_INT4) return n;
    const field = metadata.data ?? 'id';
    throw AppError.validation(`Invalid fields: ${field}`, [
      { field, errors: [`${field} must be an integer from 1 to ${MAX_INT4}`] },
    ]);
  }
}

/**
 * A message id in the path: a UUID in either case, handed on in lower case, the form ids are
 * stored and issued in (lookups in the queued-message store compare strings, so an
 * upper-case id of an existing message answered 404). Refusals name the parameter.
 */
@Injectable()
export class MessageIdParamPipe implements PipeTransform<unknown, string> {
  transform(value: unknown, metadata: ArgumentMetadata): string {
    if (typeof value === 'string' && isUUID(value, 'all')) return value.toLowerCase();
    const field = metadata.data ?? 'id';
    throw AppError.validation(`Invalid fields: ${field}`, [{ field, errors: [`${field} must be a UUID`] }]);
  }
}
