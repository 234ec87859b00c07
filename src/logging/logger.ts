import type { LoggerService, LogLevel } from '@nestjs/common';
import pino, { type Logger as Pino } from 'pino';
import pretty from 'pino-pretty';
import type { AppConfig } from '../config/app-config';

/** Nest's levels (LOG_LEVEL) on pino's. */
const PINO_LEVEL: Record<string, pino.Level> = {
  fatal: 'fatal',
  error: 'error',
  warn: 'warn',
  log: 'info',
  debug: 'debug',
  verbose: 'trace',
};

/**
 * Field names that carry secrets, wherever they sit in a logged object (two levels deep).
 * The request log is built field by field and never includes headers or bodies; this is
 * the safety net for objects someone logs later.
 */
const SECRET_KEYS = ['authorization', 'cookie', 'token', 'password', 'currentPassword', 'newPassword', 'accessToken'];
export const REDACT_PATHS = SECRET_KEYS.flatMap((k) => [k, `*.${k}`, `*.*.${k}`]);

/**
 * Nest's LoggerService over pino: every Nest logger (`new Logger('Ctx')`) writes one JSON
 * object per line (`LOG_FORMAT=json`, the default with NODE_ENV=production) or a readable
 * line (pino-pretty, in-process and synchronous). A small adapter instead of nestjs-pino
 * (which needs Node 22): Nest's static Logger already reaches every class, so an adapter is
 * all it takes. An object message becomes fields of the line (`{msg, ...fields}`).
 */
export class PinoLoggerService implements LoggerService {
  constructor(readonly pino: Pino) {}

  log(message: unknown, ...rest: unknown[]): void {
    this.write('info', message, rest);
  }
  error(message: unknown, ...rest: unknown[]): void {
    this.write('error', message, rest, true);
  }
  warn(message: unknown, ...rest: unknown[]): void {
    this.write('warn', message, rest);
  }
  debug(message: unknown, ...rest: unknown[]): void {
    this.write('debug', message, rest);
  }
  verbose(message: unknown, ...rest: unknown[]): void {
    this.write('trace', message, rest);
  }
  fatal(message: unknown, ...rest: unknown[]): void {
    this.write('fatal', message, rest, true);
  }

  setLogLevels(levels: LogLevel[]): void {
    const lowest = ['verbose', 'debug', 'log', 'warn', 'error', 'fatal'].find((l) => levels.includes(l as LogLevel));
    if (lowest) this.pino.level = PINO_LEVEL[lowest];
  }

  /** Nest passes `(message, context)` or, for errors, `(message, stack, context)`. */
  private write(level: pino.Level, message: unknown, rest: unknown[], mayHaveStack = false): void {
    if (!this.pino.isLevelEnabled(level)) return;
    const args = [...rest];
    const context = args.length && typeof args[args.length - 1] === 'string' ? (args.pop() as string) : undefined;
    const stack = mayHaveStack && typeof args[0] === 'string' ? args[0] : undefined;
    const fields: Record<string, unknown> = { context };
    if (message instanceof Error) {
      this.pino[level]({ ...fields, err: message }, message.message);
    } else if (message !== null && typeof message === 'object') {
      const { msg, ...rest2 } = message as Record<string, unknown>;
      this.pino[level]({ ...fields, ...rest2, stack }, typeof msg === 'string' ? msg : '');
    } else {
      this.pino[level]({ ...fields, stack }, String(message));
    }
  }
}

/** The process's logger, as configured (LOG_FORMAT, LOG_LEVEL). */
export function createLogger(
  config: Pick<AppConfig, 'logFormat' | 'logLevel'>,
  minLevel?: string,
  dest?: pino.DestinationStream,
): PinoLoggerService {
  const options: pino.LoggerOptions = {
    level: PINO_LEVEL[minLevel ?? config.logLevel] ?? 'info',
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    redact: { paths: REDACT_PATHS, censor: '[REDACTED]' },
  };
  const stream =
    dest ??
    (config.logFormat === 'json'
      ? pino.destination({ dest: 1, sync: true })
      : pretty({
          sync: true,
          colorize: process.stdout.isTTY,
          singleLine: true,
          translateTime: 'SYS:HH:MM:ss.l',
          ignore: 'pid,hostname,context',
          messageFormat: '[{context}] {msg}',
        }));
  return new PinoLoggerService(pino(options, stream));
}

/** `?token=…` and similar in a URL, for anything that must log one. */
export function redactUrl(url: string): string {
  return url.replace(/([?&](?:token|access_token|accessToken)=)[^&#]*/gi, '$1[REDACTED]');
}
