import { plainToInstance, Transform } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, Matches, Max, Min, MinLength, validateSync } from 'class-validator';

const toInt = ({ value }: { value: unknown }) => (value === undefined || value === '' ? undefined : Number(value));
const toBool = ({ value }: { value: unknown }) =>
  typeof value === 'string' && value !== '' ? ['1', 'true', 'yes', 'on'].includes(value.toLowerCase()) : value;

/** The environment, as read at boot. Every variable has a documented default (README). */
export class EnvironmentVariables {
  @IsIn(['development', 'production', 'test'])
  NODE_ENV = 'development';

  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(65535)
  PORT = 3000;

  @Matches(/^postgres(ql)?:\/\/.+/, { message: 'must be a postgresql:// URL' })
  DATABASE_URL = 'postgresql://postgres@127.0.0.1:5432/chat';

  @Matches(/^rediss?:\/\/.+/, { message: 'must be a redis:// URL' })
  REDIS_URL = 'redis://127.0.0.1:6379';

  /**
   * Comma-separated `host:port` seed nodes of a Redis Cluster. Set, it wins over REDIS_URL:
   * keys, queue and socket.io adapter all run on the cluster.
   */
  @IsOptional()
  @Matches(/^\s*[^\s,:]+:\d{1,5}\s*(,\s*[^\s,:]+:\d{1,5}\s*)*$/, {
    message: 'must be host:port pairs separated by commas',
  })
  REDIS_CLUSTER_NODES?: string;

  /** The password of the Redis Cluster's nodes (REDIS_URL carries its own). */
  @IsOptional()
  @IsString()
  REDIS_CLUSTER_PASSWORD?: string;

  /**
   * How long a request waits for a database connection (a new one, or a free one of the
   * pool) before it is refused UNAVAILABLE. node-postgres waits forever by default: while
   * the database hung (paused, a stalled failover), every request queued for the pool
   * hung too. Statements already sent are not cut short: they finish when the database
   * answers, so nothing is left half done. 0: no limit.
   */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(600_000)
  DATABASE_CONNECT_TIMEOUT_MS = 5000;

  @IsOptional()
  @IsString()
  @MinLength(32, { message: 'must be at least 32 characters' })
  JWT_SECRET?: string;

  @Matches(/^\d+(ms|s|m|h|d)?$/, { message: 'must be a duration like 3600, 15m, 12h or 7d' })
  JWT_EXPIRES_IN = '12h';

  /**
   * Comma-separated origins allowed to call REST and sockets from a browser (with
   * credentials), or "*" for any origin without credentials. Unset: "*" outside production;
   * required in production.
   */
  @IsOptional()
  @IsString()
  CORS_ORIGINS?: string;

  /**
   * Express `trust proxy`: which hops may set X-Forwarded-For (the client address that
   * login throttling counts). `false` (default): the socket's peer; `true`: any; a number:
   * that many hops; otherwise addresses/subnets or `loopback`, comma-separated.
   */
  @IsString()
  TRUST_PROXY = 'false';

  /**
   * Failed logins per account per client address within LOGIN_FAIL_WINDOW_S before further
   * logins of that account from that address get 429 (once per account alone: anyone could
   * then lock any account out).
   */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  LOGIN_FAILS_PER_ACCOUNT = 10;

  @Transform(toInt)
  @IsInt()
  @Min(1)
  LOGIN_FAIL_WINDOW_S = 900;

  /** Failed logins per client address, whatever the accounts, within LOGIN_FAILS_PER_IP_WINDOW_S. */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  LOGIN_FAILS_PER_IP = 100;

  @Transform(toInt)
  @IsInt()
  @Min(1)
  LOGIN_FAILS_PER_IP_WINDOW_S = 86_400;

  /** Login and registration attempts per client address within AUTH_IP_WINDOW_S. */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  AUTH_ATTEMPTS_PER_IP = 100;

  @Transform(toInt)
  @IsInt()
  @Min(1)
  AUTH_IP_WINDOW_S = 60;

  /** Authenticated REST requests per user per minute (every instance together). */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  REST_REQUESTS_PER_MIN = 600;

  /** How long (ms) an instance serves a user's identity (role, disabled, token version) from memory. */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(60_000)
  IDENTITY_CACHE_MS = 5000;

  @IsIn(['error', 'warn', 'log', 'debug', 'verbose'])
  LOG_LEVEL = 'log';

  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(100_000)
  MESSAGE_MAX_LENGTH = 4000;

  @Transform(toInt)
  @IsInt()
  @Min(0)
  MESSAGE_EDIT_WINDOW_S = 900;

  /**
   * How long a resend (same room, sender and clientMsgId) is answered with the first
   * message: the life of its dedupe record in Redis, about 150 bytes each. A resend after it
   * is taken for a new message (README, Resends).
   */
  @Transform(toInt)
  @IsInt()
  @Min(60)
  @Max(30 * 86_400)
  DEDUPE_WINDOW_S = 86_400;

  /**
   * While sends are busy (the last write carried more than one, less than this long ago),
   * their Redis writes gather this long and leave in one socket write; otherwise, and with 0,
   * each event-loop turn's leave together. Each write wakes Redis and comes back as one read
   * here, and at a few sends per turn those wake-ups were a large share of a send's cost; the
   * price, under load, is up to this much more on each ack and delivery, and on the other
   * commands of the connection (README, Performance). Kafka's producer makes the same trade
   * with `linger.ms`, 5 ms by default since Kafka 4.0.
   */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(50)
  SEND_LINGER_MS = 5;

  /** Per-user socket send rate (token bucket): refill per second and bucket size. */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  SEND_RATE_PER_SEC = 20;

  @Transform(toInt)
  @IsInt()
  @Min(1)
  SEND_BURST = 40;

  /**
   * Per-socket budget for every event but sendMessage (which has the per-user limit above):
   * joinRoom, leaveRoom, sync, markRead (typing has its own below). The burst covers a
   * reconnect that rejoins 500 rooms at once; the client SDK waits out the rest.
   */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  SOCKET_EVENT_RATE_PER_SEC = 50;

  @Transform(toInt)
  @IsInt()
  @Min(1)
  SOCKET_EVENT_BURST = 500;

  /** Per-socket budget for `typing`, which fans out to the whole room (cosmetic: drop freely). */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  SOCKET_TYPING_RATE_PER_SEC = 2;

  @Transform(toInt)
  @IsInt()
  @Min(1)
  SOCKET_TYPING_BURST = 10;

  /**
   * The same two budgets per user, shared by all of the user's sockets on this instance (on
   * top of each socket's own): without it, a user with N sockets had N times the budget, and
   * 200 sockets of one account looping on markRead slowed every other user's acks 25-fold.
   * About two sockets' worth by default, so a second device works at full speed.
   */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  USER_SOCKET_EVENT_RATE_PER_SEC = 100;

  @Transform(toInt)
  @IsInt()
  @Min(1)
  USER_SOCKET_EVENT_BURST = 1000;

  @Transform(toInt)
  @IsInt()
  @Min(1)
  USER_SOCKET_TYPING_RATE_PER_SEC = 4;

  @Transform(toInt)
  @IsInt()
  @Min(1)
  USER_SOCKET_TYPING_BURST = 20;

  /**
   * Sockets one user may have connected to this instance at once; a handshake beyond it is
   * refused (connect_error "too many connections"). Each socket costs memory, a share of
   * every broadcast to the user and budgets of its own.
   */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(10_000)
  SOCKETS_PER_USER_MAX = 20;

  /**
   * Connections (HTTP and WebSocket) one client address may hold open on this instance; one
   * more is closed before it is read. The same number caps its socket.io sessions (a polling
   * handshake makes one on any connection): one more handshake is refused. Addresses
   * TRUST_PROXY trusts (a reverse proxy's) are not counted; loopback is, unless TRUST_PROXY
   * names it. 0: no cap.
   */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(1_000_000)
  CONNECTIONS_PER_ADDRESS_MAX = 500;

  /**
   * Rooms one user may be a member of. Anyone may add anyone to a room, so without a cap
   * others could put a user in any number of them, and everything that lists or counts a
   * user's rooms (GET /inbox, GET /chatrooms, a reconnect's joins) would grow with it.
   * Others may fill nine tenths of it (othersMayFill): the rest is the user's own.
   */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(100_000)
  ROOMS_PER_USER_MAX = 1000;

  /**
   * Members one group room may have. Anyone may add anyone to a room, so without a cap one
   * user could grow a room without bound, and everything that lists its members (GET
   * /chatrooms/:id, receipts) or fans out to them would grow with it: a probe's room of
   * 30,001 members made GET /chatrooms/:id 15.5 MB and ~800 ms of the event loop.
   */
  @Transform(toInt)
  @IsInt()
  @Min(2)
  @Max(100_000)
  ROOM_MEMBERS_MAX = 1000;

  /** socket.io maxHttpBufferSize: the largest frame a client may send. */
  @Transform(toInt)
  @IsInt()
  @Min(1024)
  WS_MAX_PAYLOAD_BYTES = 64 * 1024;

  /**
   * A client whose unread output (what the server has written to it and it has not read)
   * stays over this without shrinking has its connection cut (SlowConsumers): a client that
   * stopped reading would otherwise make the server hold everything sent to it. Above the
   * largest `sync` answer at the default MESSAGE_MAX_LENGTH (500 messages of 4,000
   * characters, up to 12 MB of JSON), so one answer alone never trips it.
   */
  @Transform(toInt)
  @IsInt()
  @Min(64 * 1024)
  WS_MAX_UNREAD_BYTES = 16 * 1024 * 1024;

  /**
   * How long sends gather before they go into the persistence queue as one job. Every job
   * costs the same bookkeeping (queue scripts, one INSERT, buffer cleanup) whatever its size,
   * so a longer interval stores more cheaply. Neither acks nor deliveries wait for it (a
   * message is durable once in its room's pending buffer); it is how long a message may sit
   * there before its job is queued. A send after a quiet spell goes at once.
   */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(1000)
  PERSIST_BATCH_MS = 250;

  /** Run the message persistence worker inside this process. */
  @Transform(toBool)
  WORKER_ENABLED = true;

  /**
   * Where the in-server worker runs: `thread` (a worker thread of the server process, with
   * its own event loop, so socket traffic cannot starve persistence) or `inline` (the
   * server's own event loop).
   */
  @IsIn(['thread', 'inline'])
  WORKER_MODE = 'thread';

  /**
   * How long a user whose last socket left (from the service, or from a room's broadcast)
   * still counts as there: a socket back within it announces nothing, so reconnects and
   * server restarts cause no presence or join/leave events. Offline is announced this late.
   */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(3_600_000)
  PRESENCE_GRACE_MS = 30_000;

  /** Serve HTTP and sockets (false in `npm run start:worker`). */
  @Transform(toBool)
  HTTP_ENABLED = true;

  /** `json`: one JSON object per line; `pretty`: human-readable; `auto`: json when NODE_ENV=production. */
  @IsIn(['auto', 'json', 'pretty'])
  LOG_FORMAT = 'auto';

  /** When set, `GET /metrics` needs `Authorization: Bearer <METRICS_TOKEN>`. Empty: open. */
  @IsString()
  @Matches(/^$|^.{16,}$/, { message: 'must be at least 16 characters' })
  METRICS_TOKEN = '';

  /** The worker-only process (`--worker`) serves /metrics and /health/* on this port; 0: no HTTP. */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(65535)
  WORKER_HTTP_PORT = 0;

  /** The in-server persistence thread counts as stalled (not ready, restarted) after this long without a heartbeat. */
  @Transform(toInt)
  @IsInt()
  @Min(2000)
  WORKER_HEARTBEAT_TIMEOUT_MS = 10_000;
}

/**
 * Validates `process.env` (ConfigModule-style `validate` hook). Throws one line per wrong
 * variable, naming it, so a misconfigured deployment fails at boot and says why.
 */
export function validateEnv(raw: Record<string, unknown>): EnvironmentVariables {
  const env = plainToInstance(EnvironmentVariables, stripEmpty(raw), { exposeDefaultValues: true });
  const errors = validateSync(env, { skipMissingProperties: false });
  const problems = errors.map((e) => `${e.property}: ${Object.values(e.constraints ?? {}).join(', ')}`);
  if (env.NODE_ENV === 'production' && !env.JWT_SECRET) {
    problems.push('JWT_SECRET: is required when NODE_ENV=production');
  }
  if (env.NODE_ENV === 'production' && !env.CORS_ORIGINS) {
    problems.push('CORS_ORIGINS: is required when NODE_ENV=production (the web origins allowed, or "*")');
  }
  if (problems.length) {
    throw new Error(`Invalid configuration: ${problems.join('; ')}`);
  }
  return env;
}

/** Variables without a default (so not among the instance's keys). */
const OPTIONAL = ['JWT_SECRET', 'CORS_ORIGINS', 'REDIS_CLUSTER_NODES', 'REDIS_CLUSTER_PASSWORD'];

function stripEmpty(raw: Record<string, unknown>): Record<string, unknown> {
  const known = [...Object.keys(new EnvironmentVariables()), ...OPTIONAL];
  return Object.fromEntries(Object.entries(raw).filter(([k, v]) => known.includes(k) && v !== ''));
}
