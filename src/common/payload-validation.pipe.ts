import { ArgumentMetadata, Injectable, PipeTransform, ValidationError } from '@nestjs/common';
import { WsException } from '@nestjs/websockets';
import { AppError } from './errors';
import { ExtraArguments, extraArgumentsError, notAnObject, tooComplexError, UnparsedPayload } from './json-guard';
import { assertCleanInput } from './raw-input';
import { assertArrayLimits, createValidationPipe, validationError } from './validation';

const SOCKET_PAYLOAD = Symbol('socket-payload');
const FAST_ACCEPT = Symbol('socket-payload-fast-accept');

/**
 * A hand-written check for an event sent at the full message rate: returns the DTO instance
 * the full path (raw checks, class-transformer, class-validator) would return, or undefined
 * whenever the payload is not plainly valid. It never writes an error: anything it does not
 * accept takes the full path, which refuses it with the usual VALIDATION_FAILED details.
 */
export type FastAccept<T> = (value: unknown) => T | undefined;

/**
 * Marks a DTO as a socket.io event payload: the gateway's SocketPayloadPipe validates it,
 * and the app-wide pipe steps aside so an event is validated once, not twice. `fastAccept`
 * (see FastAccept) is for this class only, not its subclasses.
 */
export const SocketPayload =
  <T>(options: { fastAccept?: FastAccept<T> } = {}): ClassDecorator =>
  (target) => {
    Reflect.defineMetadata(SOCKET_PAYLOAD, true, target);
    if (options.fastAccept) Reflect.defineMetadata(FAST_ACCEPT, options.fastAccept, target);
  };

const NOT_DTOS = new Set<unknown>([Object, String, Number, Boolean, Array]);
const isDto = (metatype: unknown): boolean => typeof metatype === 'function' && !NOT_DTOS.has(metatype);

const isSocketPayload = (metatype: unknown): boolean =>
  typeof metatype === 'function' && Reflect.getMetadata(SOCKET_PAYLOAD, metatype) === true;

const fastAccepts = new WeakMap<object, FastAccept<unknown> | null>();
/** The class's own fastAccept (cached: reflect-metadata lookups walk the prototype chain). */
function fastAcceptOf(metatype: object): FastAccept<unknown> | null {
  let fast = fastAccepts.get(metatype);
  if (fast === undefined) {
    fast = (Reflect.getOwnMetadata(FAST_ACCEPT, metatype) as FastAccept<unknown> | undefined) ?? null;
    fastAccepts.set(metatype, fast);
  }
  return fast;
}

/**
 * The REST validation pipe, bound as APP_PIPE. Bodies, queries and path parameters are first
 * checked raw (nesting depth, prototype keys, NUL and unpaired surrogates: raw-input.ts),
 * so class-transformer never walks a hostile value; then what is not a plain object is
 * refused as a body, and the rest is validated with unknown fields rejected and every bad
 * field named.
 *
 * Nest 12 hands APP_PIPE to gateways too (their payload arrives as `body`), but socket events
 * are validated by SocketPayloadPipe, bound on the gateway class as CONVENTIONS.md asks: this
 * pipe leaves @SocketPayload() DTOs alone.
 */
@Injectable()
export class PayloadValidationPipe implements PipeTransform {
  private readonly validation = createValidationPipe();

  async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    if (isSocketPayload(metadata.metatype)) return value;
    if (metadata.type === 'body' || metadata.type === 'query' || metadata.type === 'param') {
      assertCleanInput(value, metadata.data ?? '');
    }
    // Path parameters stay strings for their own pipes (IdParamPipe, MessageIdParamPipe): the
    // ValidationPipe turns a `number` parameter into `+value`, which reads `1e3`, `0x10` and
    // ` 7 ` as numbers, so `/chatrooms/1e3` was room 1000.
    if (metadata.type === 'param' && !isDto(metadata.metatype)) return value;
    if (metadata.type === 'body' && isDto(metadata.metatype) && !isPlainObject(value)) throw notAnObject();
    if (isDto(metadata.metatype) && isPlainObject(value)) assertArrayLimits(metadata.metatype!, value);
    return this.validation.transform(value, metadata);
  }
}

/**
 * The socket.io payload pipe, bound with @UsePipes on the gateway: the same raw checks and
 * DTO rules as REST bodies, failing with a WsException that the gateway filter turns into
 * `{ok:false, error:{code:'VALIDATION_FAILED', message, details}}`.
 *
 * A DTO with a `fastAccept` (sendMessage) is first offered to it: class-transformer and
 * class-validator cost about a tenth of the main thread at 1,000 msg/s (bench profile),
 * the hand-written check a few property reads. What it does not accept takes the full path.
 */
@Injectable()
export class SocketPayloadPipe implements PipeTransform {
  private readonly validation = createValidationPipe((errors: ValidationError[]) => ws(validationError(errors)));

  async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    if (metadata.type !== 'body' || !isDto(metadata.metatype)) return value;
    const accepted = fastAcceptOf(metadata.metatype!)?.(value);
    if (accepted !== undefined) return accepted;
    return this.validateFully(value, metadata);
  }

  /** The raw checks, then the DTO rules: what every payload gets without a fastAccept. */
  async validateFully(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    try {
      if (value instanceof UnparsedPayload) throw tooComplexError(value.reason);
      if (value instanceof ExtraArguments) throw extraArgumentsError(value.count);
      assertCleanInput(value);
      if (!isPlainObject(value)) throw notAnObject();
      assertArrayLimits(metadata.metatype!, value);
    } catch (e) {
      throw ws(e as AppError);
    }
    return this.validation.transform(value, metadata);
  }
}

const ws = (e: AppError) => new WsException(e);

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
