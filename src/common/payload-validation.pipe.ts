import { ArgumentMetadata, Injectable, PipeTransform } from '@nestjs/common';
import { AppError } from './errors';
import { createValidationPipe } from './validation';

/**
 * The one validation pipe, bound as APP_PIPE, so it runs for REST handlers and socket
 * events alike (socket payloads arrive as `body`). Bodies can be anything a client can
 * serialise: what is not a plain object is refused before class-validator sees it; the rest
 * is validated with unknown fields rejected and every bad field named.
 */
@Injectable()
export class PayloadValidationPipe implements PipeTransform {
  private readonly validation = createValidationPipe();

  async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    const isDto =
      typeof metadata.metatype === 'function' &&
      ![Object, String, Number, Boolean, Array].includes(metadata.metatype as never);
    if (metadata.type === 'body' && isDto && (value === null || typeof value !== 'object' || Array.isArray(value))) {
      throw AppError.validation('The payload must be a JSON object', [{ field: '', errors: ['must be an object'] }]);
    }
    return this.validation.transform(value, metadata);
  }
}
