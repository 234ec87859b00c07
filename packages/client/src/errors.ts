import type { ErrorCode } from '@chat-backend/protocol';

/**
 * Every failure the client reports: a REST error body, a failed acknowledgement, a refused
 * handshake, or a transport problem (`UNAVAILABLE`). `status` is the HTTP status for REST.
 */
export class ChatError extends Error {
  override readonly name = 'ChatError';

  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown,
    readonly status?: number,
  ) {
    super(message);
  }

  /** From `{code, message, details?}` (REST body or ack error), tolerating a malformed body. */
  static from(body: unknown, status?: number): ChatError {
    const b = (body ?? {}) as { code?: unknown; message?: unknown; details?: unknown };
    const code = typeof b.code === 'string' ? (b.code as ErrorCode) : codeOfStatus(status);
    const message = typeof b.message === 'string' ? b.message : `Request failed${status ? ` (${status})` : ''}`;
    return new ChatError(code, message, b.details, status);
  }
}

function codeOfStatus(status?: number): ErrorCode {
  switch (status) {
    case 401:
      return 'UNAUTHORIZED';
    case 403:
      return 'FORBIDDEN';
    case 404:
      return 'NOT_FOUND';
    case 409:
      return 'CONFLICT';
    case 413:
      return 'PAYLOAD_TOO_LARGE';
    case 429:
      return 'RATE_LIMITED';
    case 503:
      return 'UNAVAILABLE';
    default:
      return status && status < 500 ? 'VALIDATION_FAILED' : 'INTERNAL';
  }
}
