import type { Server } from 'node:http';
import { connect } from 'node:net';
import { EARLY_REFUSAL_BYTES, JSON_BODY_LIMIT_BYTES } from '../src/app.factory';
import { HTTP_HEADERS_TIMEOUT_MS, HTTP_REQUEST_TIMEOUT_MS } from '../src/common/http-server-limits';
import { resetState, startApp, TestApp } from './utils/app';
import { rawClient } from './utils/raw-client';
import { exitOf, freePort, ServerProcess, spawnServer, waitHealthy } from './utils/processes';

/**
 * Request headers of a JSON POST. With `Expect: 100-continue` Node answers `100 Continue`
 * once it has parsed them, which tells the test the request is in flight on the server.
 */
function postHead(path: string, contentLength: number, expectContinue = true): string {
  return (
    `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n` +
    `Content-Length: ${contentLength}\r\n${expectContinue ? 'Expect: 100-continue\r\n' : ''}\r\n`
  );
}

/** Resolves once a new connection to the port is refused: the server has stopped accepting. */
async function refused(port: number): Promise<void> {
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (!ok) return;
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Status and JSON body of a raw HTTP response that follows an optional `100 Continue`. */
function finalResponse(raw: string): { status: number; headers: string; body: unknown } {
  const text = raw.replace(/^HTTP\/1\.1 100 Continue\r\n\r\n/, '');
  const [head, body] = text.split('\r\n\r\n', 2);
  return { status: Number(head.split(' ')[1]), headers: head.toLowerCase(), body: JSON.parse(body) };
}

describe('slow and half-sent HTTP requests (e2e)', () => {
  describe('limits on the app', () => {
    let t: TestApp;
    let port: number;

    beforeAll(async () => {
      await resetState();
      t = await startApp();
      port = Number(new URL(t.url).port);
    });
    afterAll(() => t?.close());

    it('gives a request 30 s to arrive and its headers 20 s, not Node default of 300 s', () => {
      const server = t.app.getHttpServer() as Server;
      expect(server.requestTimeout).toBe(HTTP_REQUEST_TIMEOUT_MS);
      expect(server.headersTimeout).toBe(HTTP_HEADERS_TIMEOUT_MS);
      expect(HTTP_REQUEST_TIMEOUT_MS).toBe(30_000);
      expect(HTTP_HEADERS_TIMEOUT_MS).toBeLessThanOrEqual(HTTP_REQUEST_TIMEOUT_MS);
    });

    it('answers a declared body above the limit with 413 before any of it is sent, and closes', async () => {
      const c = await rawClient(port);
      c.socket.write(postHead('/auth/register', 1_000_000_000, false)); // a gigabyte declared, none sent
      await c.closed; // the server closed the connection without waiting for the body
      const res = finalResponse(c.received());
      expect(res.status).toBe(413);
      expect(res.headers).toContain('connection: close');
      expect(res.body).toEqual({ statusCode: 413, code: 'PAYLOAD_TOO_LARGE', message: 'Request body is too large' });
    });

    it('answers before the body also when the client waits for 100 Continue', async () => {
      const c = await rawClient(port);
      c.socket.write(postHead('/auth/register', EARLY_REFUSAL_BYTES + 1));
      await c.closed;
      expect(finalResponse(c.received()).status).toBe(413);
    });

    it('still reads a body of exactly the limit (then validation refuses it)', async () => {
      const shell = JSON.stringify({ username: 'edge', password: '' });
      const body = JSON.stringify({ username: 'edge', password: 'x'.repeat(JSON_BODY_LIMIT_BYTES - shell.length) });
      expect(Buffer.byteLength(body)).toBe(JSON_BODY_LIMIT_BYTES);
      const res = await t.http().post('/auth/register').set('content-type', 'application/json').send(body);
      expect(res.status).toBe(400);
      expect(res.body.code).toBe('VALIDATION_FAILED');
    });
  });

  describe('shutdown', () => {
    let s: ServerProcess | undefined;
    afterEach(async () => {
      await s?.stop(); // only does something if the test failed before the exit
    });

    async function start(): Promise<number> {
      const port = freePort();
      s = spawnServer({ PORT: port });
      await waitHealthy(s);
      return Number(port);
    }

    it('exits after SIGTERM although a client sent half a body and went quiet', async () => {
      const port = await start();
      const c = await rawClient(port);
      c.socket.write(postHead('/auth/login', 1000)); // within the limit: the server waits for it
      await c.waitFor('100 Continue'); // the server is reading this request
      c.socket.write('{"use'); // and then nothing more
      s!.proc.kill('SIGTERM');
      // A liveness bound, not a speed target: before, the process never exited.
      const code = await exitOf(s!, 40_000);
      // Nest closes everything, then re-raises the signal: the process ends by SIGTERM, not by a crash.
      expect({ code, signal: s!.proc.signalCode }).toEqual({ code: null, signal: 'SIGTERM' });
      await c.closed;
      expect(c.received()).toBe('HTTP/1.1 100 Continue\r\n\r\n'); // dropped, never answered
      expect(s!.output()).not.toMatch(/ERROR/);
    });

    it('answers a request that completes while the server shuts down', async () => {
      const port = await start();
      const body = JSON.stringify({ username: 'nobody-here', password: 'correct horse battery' });
      const c = await rawClient(port);
      c.socket.write(postHead('/auth/login', Buffer.byteLength(body)));
      await c.waitFor('100 Continue');
      s!.proc.kill('SIGTERM');
      // The send path has drained and the server stopped accepting: shutdown is under way,
      // and this request, in flight since before SIGTERM, is still waiting for its body.
      await refused(port);
      expect(s!.proc.exitCode).toBeNull();
      c.socket.write(body);
      await c.waitFor('}');
      const res = finalResponse(c.received());
      expect(res.status).toBe(401);
      expect(res.body).toMatchObject({ statusCode: 401, code: 'UNAUTHORIZED' });
      expect(res.headers).toContain('connection: close'); // not kept alive on a server that is closing
      await c.closed;
      const code = await exitOf(s!, 40_000);
      expect({ code, signal: s!.proc.signalCode }).toEqual({ code: null, signal: 'SIGTERM' });
    });
  });
});
