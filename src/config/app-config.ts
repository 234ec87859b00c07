import { Logger } from '@nestjs/common';
import { DEV_JWT_SECRET, EnvironmentVariables, validateEnv } from './env.validation';

/**
 * Typed, validated configuration, provided once (ConfigModule is global) and injected by
 * class. Built from process.env at boot; tests build it from their own env.
 */
export class AppConfig {
  readonly nodeEnv: string;
  readonly port: number;
  readonly databaseUrl: string;
  readonly redisUrl: string;
  readonly jwtSecret: string;
  /** Seconds as a number, or a duration string ("15m", "12h"): jsonwebtoken reads a bare numeric string as ms. */
  readonly jwtExpiresIn: string | number;
  readonly corsOrigins: string[] | '*';
  readonly logLevel: EnvironmentVariables['LOG_LEVEL'];
  readonly messageMaxLength: number;
  readonly messageEditWindowS: number;
  readonly sendRatePerSec: number;
  readonly sendBurst: number;
  readonly wsMaxPayloadBytes: number;
  readonly persistBatchMs: number;
  readonly workerEnabled: boolean;
  readonly workerMode: 'thread' | 'inline';
  readonly httpEnabled: boolean;
  readonly logFormat: 'json' | 'pretty';
  /** Empty: /metrics is open. */
  readonly metricsToken: string;
  readonly workerHttpPort: number;
  readonly workerHeartbeatTimeoutMs: number;

  constructor(env: EnvironmentVariables) {
    this.nodeEnv = env.NODE_ENV;
    this.port = env.PORT;
    this.databaseUrl = env.DATABASE_URL;
    this.redisUrl = env.REDIS_URL;
    this.jwtSecret = env.JWT_SECRET ?? DEV_JWT_SECRET;
    this.jwtExpiresIn = /^\d+$/.test(env.JWT_EXPIRES_IN) ? Number(env.JWT_EXPIRES_IN) : env.JWT_EXPIRES_IN;
    const origins = env.CORS_ORIGINS.split(',')
      .map((o) => o.trim())
      .filter(Boolean);
    this.corsOrigins = origins.length === 0 || origins.includes('*') ? '*' : origins;
    this.logLevel = env.LOG_LEVEL;
    this.messageMaxLength = env.MESSAGE_MAX_LENGTH;
    this.messageEditWindowS = env.MESSAGE_EDIT_WINDOW_S;
    this.sendRatePerSec = env.SEND_RATE_PER_SEC;
    this.sendBurst = env.SEND_BURST;
    this.wsMaxPayloadBytes = env.WS_MAX_PAYLOAD_BYTES;
    this.persistBatchMs = env.PERSIST_BATCH_MS;
    this.workerEnabled = env.WORKER_ENABLED;
    this.workerMode = env.WORKER_MODE as 'thread' | 'inline';
    this.httpEnabled = env.HTTP_ENABLED;
    this.logFormat =
      env.LOG_FORMAT === 'auto'
        ? env.NODE_ENV === 'production'
          ? 'json'
          : 'pretty'
        : (env.LOG_FORMAT as 'json' | 'pretty');
    this.metricsToken = env.METRICS_TOKEN;
    this.workerHttpPort = env.WORKER_HTTP_PORT;
    this.workerHeartbeatTimeoutMs = env.WORKER_HEARTBEAT_TIMEOUT_MS;
  }

  /** `quiet`: skip warnings another part of the same process has already given. */
  static fromEnv(raw: Record<string, unknown> = process.env, opts: { quiet?: boolean } = {}): AppConfig {
    const env = validateEnv(raw);
    if (!env.JWT_SECRET && !opts.quiet) {
      new Logger('Config').warn('JWT_SECRET is not set: using a development secret (refused in production)');
    }
    return new AppConfig(env);
  }
}
