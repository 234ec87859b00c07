import { AppConfig, parseTrustProxy } from './app-config';
import { corsOptions } from './cors';
import { validateEnv } from './env.validation';

describe('validateEnv', () => {
  it('applies the documented defaults', () => {
    const env = validateEnv({});
    expect(env).toMatchObject({
      PORT: 3000,
      DATABASE_URL: 'postgresql://postgres@127.0.0.1:5432/chat',
      REDIS_URL: 'redis://127.0.0.1:6379',
      MESSAGE_MAX_LENGTH: 4000,
      WORKER_ENABLED: true,
      PERSIST_BATCH_MS: 250,
    });
  });

  it('keeps the persistence batch interval within 1..1000 ms', () => {
    expect(validateEnv({ PERSIST_BATCH_MS: '5' }).PERSIST_BATCH_MS).toBe(5);
    expect(() => validateEnv({ PERSIST_BATCH_MS: '0' })).toThrow(/PERSIST_BATCH_MS/);
    expect(() => validateEnv({ PERSIST_BATCH_MS: '5000' })).toThrow(/PERSIST_BATCH_MS/);
  });

  it('keeps the send linger within 0..50 ms, 5 by default, 0 meaning one write per turn', () => {
    expect(validateEnv({}).SEND_LINGER_MS).toBe(5);
    expect(validateEnv({ SEND_LINGER_MS: '0' }).SEND_LINGER_MS).toBe(0);
    for (const bad of ['-1', '51', '2.5', 'abc']) {
      expect(() => validateEnv({ SEND_LINGER_MS: bad })).toThrow(/SEND_LINGER_MS/);
    }
  });

  it('keeps the resend dedupe window within a minute and 30 days, a day by default', () => {
    expect(validateEnv({}).DEDUPE_WINDOW_S).toBe(86_400);
    expect(validateEnv({ DEDUPE_WINDOW_S: '3600' }).DEDUPE_WINDOW_S).toBe(3600);
    for (const bad of ['59', '2592001', '3600.5', 'abc']) {
      expect(() => validateEnv({ DEDUPE_WINDOW_S: bad })).toThrow(/DEDUPE_WINDOW_S/);
    }
  });

  it('names every wrong variable in one line', () => {
    expect(() => validateEnv({ PORT: 'abc', REDIS_URL: 'http://x', JWT_SECRET: 'short' })).toThrow(
      /^Invalid configuration: .*PORT: .*; .*REDIS_URL: must be a redis:\/\/ URL; JWT_SECRET: must be at least 32 characters$/,
    );
  });

  it('requires JWT_SECRET in production', () => {
    expect(() => validateEnv({ NODE_ENV: 'production', CORS_ORIGINS: '*' })).toThrow(
      'JWT_SECRET: is required when NODE_ENV=production',
    );
    const env = validateEnv({ NODE_ENV: 'production', JWT_SECRET: 'x'.repeat(32), CORS_ORIGINS: '*' });
    expect(env.JWT_SECRET).toHaveLength(32);
  });

  it('requires CORS_ORIGINS in production, defaults to any origin without credentials elsewhere', () => {
    expect(() => validateEnv({ NODE_ENV: 'production', JWT_SECRET: 'x'.repeat(32) })).toThrow(
      /CORS_ORIGINS: is required when NODE_ENV=production/,
    );
    expect(corsOptions(new AppConfig(validateEnv({})))).toEqual({ origin: '*', credentials: false });
    const listed = new AppConfig(validateEnv({ CORS_ORIGINS: 'https://a.example, https://b.example' }));
    expect(corsOptions(listed)).toEqual({ origin: ['https://a.example', 'https://b.example'], credentials: true });
  });

  it('reads TRUST_PROXY as off, on, a hop count or addresses', () => {
    expect(parseTrustProxy(validateEnv({}).TRUST_PROXY)).toBe(false);
    expect(parseTrustProxy('true')).toBe(true);
    expect(parseTrustProxy('2')).toBe(2);
    expect(parseTrustProxy('loopback, 10.0.0.0/8')).toBe('loopback, 10.0.0.0/8');
  });

  it('has throttling defaults and refuses a zero budget', () => {
    expect(validateEnv({})).toMatchObject({
      LOGIN_FAILS_PER_ACCOUNT: 10,
      LOGIN_FAIL_WINDOW_S: 900,
      LOGIN_FAILS_PER_IP: 100,
      LOGIN_FAILS_PER_IP_WINDOW_S: 86400,
      AUTH_ATTEMPTS_PER_IP: 100,
      AUTH_IP_WINDOW_S: 60,
      REST_REQUESTS_PER_MIN: 600,
    });
    expect(() => validateEnv({ AUTH_ATTEMPTS_PER_IP: '0' })).toThrow(/AUTH_ATTEMPTS_PER_IP/);
    expect(() => validateEnv({ LOGIN_FAILS_PER_IP: '0' })).toThrow(/LOGIN_FAILS_PER_IP:/);
    expect(() => validateEnv({ LOGIN_FAILS_PER_IP_WINDOW_S: 'day' })).toThrow(/LOGIN_FAILS_PER_IP_WINDOW_S/);
    const config = new AppConfig(validateEnv({ LOGIN_FAILS_PER_IP: '7', LOGIN_FAILS_PER_IP_WINDOW_S: '3600' }));
    expect(config).toMatchObject({ loginFailsPerIp: 7, loginFailsPerIpWindowS: 3600 });
  });

  it('caps connections per address at 500 by default, 0 meaning no cap', () => {
    expect(new AppConfig(validateEnv({})).connectionsPerAddressMax).toBe(500);
    expect(new AppConfig(validateEnv({ CONNECTIONS_PER_ADDRESS_MAX: '0' })).connectionsPerAddressMax).toBe(0);
    expect(validateEnv({ CONNECTIONS_PER_ADDRESS_MAX: '20' }).CONNECTIONS_PER_ADDRESS_MAX).toBe(20);
    for (const bad of ['-1', '2.5', 'abc', '1000001']) {
      expect(() => validateEnv({ CONNECTIONS_PER_ADDRESS_MAX: bad })).toThrow(/CONNECTIONS_PER_ADDRESS_MAX/);
    }
  });

  it('reads booleans the way operators write them', () => {
    expect(validateEnv({ WORKER_ENABLED: 'false' }).WORKER_ENABLED).toBe(false);
    expect(validateEnv({ WORKER_ENABLED: '0' }).WORKER_ENABLED).toBe(false);
    expect(validateEnv({ WORKER_ENABLED: 'yes' }).WORKER_ENABLED).toBe(true);
  });
});

describe('operations settings', () => {
  it('logs JSON in production unless told otherwise, and checks the metrics token length', () => {
    expect(validateEnv({}).LOG_FORMAT).toBe('auto');
    expect(validateEnv({ LOG_FORMAT: 'json' }).LOG_FORMAT).toBe('json');
    expect(() => validateEnv({ LOG_FORMAT: 'xml' })).toThrow(/LOG_FORMAT/);
    expect(validateEnv({}).METRICS_TOKEN).toBe('');
    expect(() => validateEnv({ METRICS_TOKEN: 'short' })).toThrow(/METRICS_TOKEN: must be at least 16 characters/);
    expect(() => validateEnv({ WORKER_HEARTBEAT_TIMEOUT_MS: '500' })).toThrow(/WORKER_HEARTBEAT_TIMEOUT_MS/);
  });
});
