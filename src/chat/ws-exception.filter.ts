import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import { WsException } from '@nestjs/websockets';
import type { Socket } from 'socket.io';
import { ErrorCode, toErrorBody } from '../common/errors';

/**
 * Gateway filter: a failed event is answered through its acknowledgement as
 * `{ok:false, error:{code, message, details?}}`, or, when the client sent no callback, with
 * an `exception {event, code, message}` event. Unexpected errors are logged, never echoed.
 */
@Catch()
export class WsExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('WsError');

  catch(exception: unknown, host: ArgumentsHost): void {
    const client = host.switchToWs().getClient<Socket>();
    const ack: unknown = host.getArgByIndex(2);
    const event = String(host.getArgByIndex(3) ?? 'unknown');
    const body = toErrorBody(exception instanceof WsException ? exception.getError() : exception);
    const user = (client.data as { user?: { id?: number } } | undefined)?.user;
    const fields = { socketId: client.id, userId: user?.id, event, code: body.code };
    if (body.code === ErrorCode.Internal && !(exception instanceof HttpException)) {
      const err = exception as Error;
      this.logger.error({ msg: `socket event failed: ${err?.message}`, ...fields }, err?.stack);
    } else if (body.code === ErrorCode.Unavailable) {
      this.logger.warn({ msg: `socket event failed: ${(exception as Error)?.message}`, ...fields });
    } else {
      this.logger.log({ msg: 'socket event refused', ...fields });
    }
    const error = { code: body.code, message: body.message, ...(body.details ? { details: body.details } : {}) };
    if (typeof ack === 'function') (ack as (r: unknown) => void)({ ok: false, error });
    else client.emit('exception', { event, ...error });
  }
}
