import { ValidationError, ValidationPipe } from '@nestjs/common';
import * as classTransformer from 'class-transformer';
import * as classValidator from 'class-validator';
import { AppError } from './errors';

export interface FieldError {
  field: string;
  errors: string[];
}

/**
 * Flattens nested class-validator errors into `[{field: 'message.content', errors}]`. A field
 * that should be an array and is not says only that: its size limits and its elements'
 * checks, run over an object's keys, contradicted each other ("at least 1 elements", "no
 * more than 100 elements", `rooms.afterSeq`; a probe sent `{rooms: {...}}`).
 */
export function flattenValidationErrors(errors: ValidationError[], parent = ''): FieldError[] {
  return errors.flatMap((e) => {
    const field = parent ? `${parent}.${e.property}` : e.property;
    const notAnArray = e.constraints?.isArray;
    if (notAnArray !== undefined) return [{ field, errors: [notAnArray] }];
    const own = e.constraints ? [{ field, errors: Object.values(e.constraints) }] : [];
    return [...own, ...flattenValidationErrors(e.children ?? [], field)];
  });
}

/**
 * The most bad fields one error lists. A payload can be wrong in thousands of places (each
 * unknown field is one): the client needs the first few to fix its request, and the
 * server should not write a longer answer than the request it refuses.
 */
export const MAX_FIELD_ERRORS = 20;

export function validationError(errors: ValidationError[]): AppError {
  const all = flattenValidationErrors(errors);
  const fields = all.slice(0, MAX_FIELD_ERRORS);
  const more = all.length - fields.length;
  const names = fields.map((f) => f.field).join(', ') + (more > 0 ? ` and ${more} more` : '');
  return AppError.validation(`Invalid fields: ${names}`, fields);
}

const arrayLimits = new WeakMap<object, [property: string, max: number][]>();
/** The DTO class's own `@ArrayMaxSize` limits, read once from class-validator's metadata. */
function arrayLimitsOf(metatype: object): [string, number][] {
  let limits = arrayLimits.get(metatype);
  if (!limits) {
    limits = classValidator
      .getMetadataStorage()
      .getTargetValidationMetadatas(metatype as new () => object, '', true, false)
      .filter((m) => m.name === 'arrayMaxSize' && !m.each)
      .map((m) => [m.propertyName, Number((m.constraints as number[])[0])]);
    arrayLimits.set(metatype, limits);
  }
  return limits;
}

/**
 * Refuses, before anything converts or validates its items, a payload whose list is longer
 * than its DTO's `@ArrayMaxSize`: class-transformer and class-validator would otherwise
 * build and check every item of a list that is refused anyway (a `sync` of 1,000 rooms
 * where 100 are allowed). Same message as class-validator's own.
 */
export function assertArrayLimits(metatype: object, value: Record<string, unknown>): void {
  const over = arrayLimitsOf(metatype).filter(([p, max]) => Array.isArray(value[p]) && value[p].length > max);
  if (!over.length) return;
  throw AppError.validation(
    `Invalid fields: ${over.map(([p]) => p).join(', ')}`,
    over.map(([p, max]) => ({ field: p, errors: [`${p} must contain no more than ${max} elements`] })),
  );
}

/**
 * The options both transports use: unknown fields are rejected (not silently dropped),
 * payloads become DTO instances, and a failure names every bad field.
 *
 * The packages are handed over: left to itself, ValidationPipe `import()`s them, and the
 * ESM loader translated both again (they are CommonJS, loaded by `require` already) on the
 * main thread and the persistence thread, work that could land after the server was
 * listening, in a restart's reconnect storm. Same modules, same metadata storage.
 */
export function createValidationPipe(
  exceptionFactory: (errors: ValidationError[]) => unknown = validationError,
): ValidationPipe {
  return new ValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    forbidUnknownValues: true,
    transform: true,
    validationError: { target: false, value: false },
    exceptionFactory,
    validatorPackage: classValidator,
    transformerPackage: classTransformer,
  });
}
