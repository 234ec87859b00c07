import { createLogger, redactUrl } from './logger';

function capture(level = 'log') {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger({ logFormat: 'json', logLevel: level }, undefined, {
    write: (s: string) => lines.push(JSON.parse(s) as Record<string, unknown>),
  });
  return { logger, lines };
}

describe('PinoLoggerService', () => {
  it('writes Nest-style calls as JSON lines with context, fields and level names', () => {
    const { logger, lines } = capture();
    logger.log('plain', 'Ctx');
    logger.warn({ msg: 'with fields', userId: 7 }, 'Ctx');
    logger.error('boom', 'stack here', 'Ctx');
    logger.debug('hidden at LOG_LEVEL=log', 'Ctx');
    expect(lines).toEqual([
      expect.objectContaining({ level: 'info', context: 'Ctx', msg: 'plain' }),
      expect.objectContaining({ level: 'warn', context: 'Ctx', msg: 'with fields', userId: 7 }),
      expect.objectContaining({ level: 'error', context: 'Ctx', msg: 'boom', stack: 'stack here' }),
    ]);
  });

  it('redacts secret fields wherever they sit', () => {
    const { logger, lines } = capture();
    logger.log({
      msg: 'x',
      password: 'p1',
      body: { currentPassword: 'p2', newPassword: 'p3', accessToken: 't1' },
      req: { headers: { authorization: 'Bearer t2', cookie: 'c' }, query: { token: 't3' } },
    });
    const text = JSON.stringify(lines);
    for (const secret of ['p1', 'p2', 'p3', 't1', 't2', 't3', '"c"']) expect(text).not.toContain(secret);
    expect(text).toContain('[REDACTED]');
  });

  it('redacts tokens in URLs', () => {
    expect(redactUrl('/socket.io/?EIO=4&token=abc.def&transport=polling')).toBe(
      '/socket.io/?EIO=4&token=[REDACTED]&transport=polling',
    );
  });
});
