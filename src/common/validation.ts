import { ValidationError, ValidationPipe } from '@nestjs/common';
import * as classTransformer from 'class-transformer';
import * as classValidator from 'class-validator';
import { AppError } from './errors';

export interface FieldError {
  field: string;
  errors: string[];
}

/** Flattens nested class-validator errors into `[{field: 'message.content', errors}]`. */
export function flattenValidationErrors(errors: ValidationError[], parent = ''): FieldError[] {
  return errors.flatMap((e) => {
    const field = parent ? `${parent}.${e.property}` : e.property;
    const own = e.constraints ? [{ field, errors: Object.values(e.constraints) }] : [];
    return [...own, ...flattenValidationErrors(e.children ?? [], field)];
  });
}

export function validationError(errors: ValidationError[]): AppError {
  const fields = flattenValidationErrors(errors);
  const names = fields.map((f) => f.field).join(', ');
  return AppError.validation(`Invalid fields: ${names}`, fields);
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
