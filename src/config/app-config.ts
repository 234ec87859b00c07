import type { EnvironmentVariables } from './env.validation';

/** The secret used when none is configured outside production. Never valid in production. */
export const DEV_JWT_SECRET = 'dev-only-secret-change-me-dev-only-secret';

/**
 * Typed, validated configuration, provided once (ConfigModule is global) and injected by
 * class. Built from process.env at boot by loadConfig (load-config.ts), which validates it;
 * tests build it from their own env. This file imports no validation code: the persistence
 * thread gets its copy from the main thread (restore) and never loads class-validator.
 */
export class AppConfig {
  readonly nodeEnv: string;
  readonly port: number;
  readonly databaseUrl: string;
  /** DATABASE_CONNECT_TIMEOUT_MS; 0: none. */
  readonly databaseConnectTimeoutMs: number;
  readonly redisUrl: string;
  /** Seed nodes of a Redis Cluster; empty: the single Redis at redisUrl. */
  readonly redisClusterNodes: { host: string; port: number }[];
  readonly redisClusterPassword: string | undefined;
  readonly jwtSecret: string;
  /** Seconds as a number, or a duration string ("15m", "12h"): jsonwebtoken reads a bare numeric string as ms. */
  readonly jwtExpiresIn: string | number;
  /** '*': any origin, without credentials; a list: those origins, with credentials. */
  readonly corsOrigins: string[] | '*';
  readonly trustProxy: boolean | number | string;
  readonly loginFailsPerAccount: number;
  readonly loginFailWindowS: number;
  readonly loginFailsPerIp: number;
  readonly loginFailsPerIpWindowS: number;
  readonly authAttemptsPerIp: number;
  readonly authIpWindowS: number;
  readonly restRequestsPerMin: number;
  readonly identityCacheMs: number;
  readonly logLevel: EnvironmentVariables['LOG_LEVEL'];
  readonly messageMaxLength: number;
  readonly messageEditWindowS: number;
  readonly dedupeWindowS: number;
  readonly sendLingerMs: number;
  readonly sendRatePerSec: number;
  readonly sendBurst: number;
  readonly socketEventRatePerSec: number;
  readonly socketEventBurst: number;
  readonly socketTypingRatePerSec: number;
  readonly socketTypingBurst: number;
  /** The socket event budgets of a user's sockets on this instance together. */
  readonly userSocketEventRatePerSec: number;
  readonly userSocketEventBurst: number;
  readonly userSocketTypingRatePerSec: number;
  readonly userSocketTypingBurst: number;
  readonly socketsPerUserMax: number;
  /** 0: no cap. */
  readonly connectionsPerAddressMax: number;
  readonly roomsPerUserMax: number;
  /** Members of one group room (direct rooms always have two). */
  readonly roomMembersMax: number;
  readonly wsMaxPayloadBytes: number;
  readonly wsMaxUnreadBytes: number;
  readonly persistBatchMs: number;
  readonly workerEnabled: boolean;
  readonly workerMode: 'thread' | 'inline';
  readonly httpEnabled: boolean;
  readonly presenceGraceMs: number;
  readonly logFormat: 'json' | 'pretty';
  /** Empty: /metrics is open. */
  readonly metricsToken: string;
  readonly workerHttpPort: number;
  readonly workerHeartbeatTimeoutMs: number;

  constructor(env: EnvironmentVariables) {
    this.nodeEnv = env.NODE_ENV;
    this.port = env.PORT;
    this.databaseUrl = env.DATABASE_URL;
    this.databaseConnectTimeoutMs = env.DATABASE_CONNECT_TIMEOUT_MS;
    this.redisUrl = env.REDIS_URL;
    this.redisClusterNodes = (env.REDIS_CLUSTER_NODES ?? '')
      .split(',')
      .map((n) => n.trim())
      .filter(Boolean)
      .map((n) => {
        const at = n.lastIndexOf(':');
        return { host: n.slice(0, at), port: Number(n.slice(at + 1)) };
      });
    this.redisClusterPassword = env.REDIS_CLUSTER_PASSWORD || undefined;
    this.jwtSecret = env.JWT_SECRET ?? DEV_JWT_SECRET;
    this.jwtExpiresIn = /^\d+$/.test(env.JWT_EXPIRES_IN) ? Number(env.JWT_EXPIRES_IN) : env.JWT_EXPIRES_IN;
    const origins = (env.CORS_ORIGINS ?? '*')
      .split(',')
      .map((o) => o.trim())
      .filter(Boolean);
    this.corsOrigins = origins.length === 0 || origins.includes('*') ? '*' : origins;
    this.trustProxy = parseTrustProxy(env.TRUST_PROXY);
    this.loginFailsPerAccount = env.LOGIN_FAILS_PER_ACCOUNT;
    this.loginFailWindowS = env.LOGIN_FAIL_WINDOW_S;
    this.loginFailsPerIp = env.LOGIN_FAILS_PER_IP;
    this.loginFailsPerIpWindowS = env.LOGIN_FAILS_PER_IP_WINDOW_S;
    this.authAttemptsPerIp = env.AUTH_ATTEMPTS_PER_IP;
    this.authIpWindowS = env.AUTH_IP_WINDOW_S;
    this.restRequestsPerMin = env.REST_REQUESTS_PER_MIN;
    this.identityCacheMs = env.IDENTITY_CACHE_MS;
    this.logLevel = env.LOG_LEVEL;
    this.messageMaxLength = env.MESSAGE_MAX_LENGTH;
    this.messageEditWindowS = env.MESSAGE_EDIT_WINDOW_S;
    this.dedupeWindowS = env.DEDUPE_WINDOW_S;
    this.sendLingerMs = env.SEND_LINGER_MS;
    this.sendRatePerSec = env.SEND_RATE_PER_SEC;
    this.sendBurst = env.SEND_BURST;
    this.socketEventRatePerSec = env.SOCKET_EVENT_RATE_PER_SEC;
    this.socketEventBurst = env.SOCKET_EVENT_BURST;
    this.socketTypingRatePerSec = env.SOCKET_TYPING_RATE_PER_SEC;
    this.socketTypingBurst = env.SOCKET_TYPING_BURST;
    this.userSocketEventRatePerSec = env.USER_SOCKET_EVENT_RATE_PER_SEC;
    this.userSocketEventBurst = env.USER_SOCKET_EVENT_BURST;
    this.userSocketTypingRatePerSec = env.USER_SOCKET_TYPING_RATE_PER_SEC;
    this.userSocketTypingBurst = env.USER_SOCKET_TYPING_BURST;
    this.socketsPerUserMax = env.SOCKETS_PER_USER_MAX;
    this.connectionsPerAddressMax = env.CONNECTIONS_PER_ADDRESS_MAX;
    this.roomsPerUserMax = env.ROOMS_PER_USER_MAX;
    this.roomMembersMax = env.ROOM_MEMBERS_MAX;
    this.wsMaxPayloadBytes = env.WS_MAX_PAYLOAD_BYTES;
    this.wsMaxUnreadBytes = env.WS_MAX_UNREAD_BYTES;
    this.persistBatchMs = env.PERSIST_BATCH_MS;
    this.workerEnabled = env.WORKER_ENABLED;
    this.workerMode = env.WORKER_MODE as 'thread' | 'inline';
    this.httpEnabled = env.HTTP_ENABLED;
    this.presenceGraceMs = env.PRESENCE_GRACE_MS;
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

  /**
   * A config built elsewhere, passed in as data (a worker thread's structured clone keeps
   * the fields, not the class), with `overrides` on top.
   */
  static restore(fields: AppConfig, overrides: Partial<AppConfig> = {}): AppConfig {
    return Object.assign(Object.create(AppConfig.prototype) as AppConfig, fields, overrides);
  }
}

/** Express `trust proxy` from its env spelling: false/true, a hop count, or addresses. */
export function parseTrustProxy(raw: string): boolean | number | string {
  const v = raw.trim().toLowerCase();
  if (['', 'false', '0', 'off', 'no'].includes(v)) return false;
  if (['true', 'on', 'yes'].includes(v)) return true;
  if (/^\d+$/.test(v)) return Number(v);
  return raw.trim();
}
