import { ArgumentsHost, BadRequestException, Logger } from '@nestjs/common';
import { HttpExceptionFilter } from './http-exception.filter';

/** A REST error's host: the request, and a response that records what was sent. */
function httpHost() {
  const sent: { status?: number; body?: unknown } = {};
  const res = {
    getHeader: () => undefined,
    setHeader: () => undefined,
    headersSent: false,
    status(code: number) {
      sent.status = code;
      return this;
    },
    json(body: unknown) {
      sent.body = body;
    },
  };
  const req = { id: 'req-1', method: 'POST', url: '/chatrooms' };
  const host = {
    getType: () => 'http',
    switchToHttp: () => ({ getRequest: () => req, getResponse: () => res }),
  } as unknown as ArgumentsHost;
  return { host, sent };
}

describe('HttpExceptionFilter', () => {
  afterEach(() => jest.restoreAllMocks());

  it('answers a column overflow with 400 and warns that a DTO lacks a limit', () => {
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const { host, sent } = httpHost();
    const overflow = Object.assign(new Error('value too long for type character varying(100)'), { code: '22001' });
    new HttpExceptionFilter().catch(overflow, host);
    expect(sent.status).toBe(400);
    expect((sent.body as { code: string }).code).toBe('VALIDATION_FAILED');
    expect(warn).toHaveBeenCalledWith(expect.stringContaining('a DTO lacks a length limit'));
  });

  it('does not warn for an ordinary validation failure', () => {
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const { host, sent } = httpHost();
    new HttpExceptionFilter().catch(new BadRequestException('bad'), host);
    expect(sent.status).toBe(400);
    expect(warn).not.toHaveBeenCalled();
  });
});
