import { IncomingMessage, type Server } from 'node:http';
import { connect as tcpConnect, type Socket } from 'node:net';
import { Readable } from 'node:stream';
import { EARLY_REFUSAL_BYTES } from '../src/app.factory';
import { io as ioClient, Manager } from 'socket.io-client';
import { resetState, startApp, TestApp } from './utils/app';
import { exitOf, freePort, spawnServer } from './utils/processes';
import { sleep } from './utils/sockets';
import { auth, createUser } from './utils/users';

const FOREIGN = 'https://evil.example';

/** Security headers, a CSP the Swagger UI works under, and CORS that does not echo any origin with credentials. */
describe('HTTP hardening (e2e)', () => {
  let t: TestApp;

  beforeAll(async () => {
    await resetState();
    t = await startApp();
  });
  afterAll(() => t?.close());

  it('sends security headers with a CSP for the web client and /docs', async () => {
    const res = await t.http().get('/health');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['x-frame-options']).toBe('SAMEORIGIN');
    expect(res.headers['referrer-policy']).toBe('no-referrer');
    expect(res.headers['x-powered-by']).toBeUndefined();
    const csp = res.headers['content-security-policy'];
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("script-src 'self';");
    expect(csp).toContain("img-src 'self' data: https:");
    expect(csp).toContain("connect-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain('upgrade-insecure-requests');
  });

  it('serves /docs under the CSP: scripts are same-origin files, and they load', async () => {
    const page = await t.http().get('/docs/');
    expect(page.status).toBe(200);
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    const html = page.text;
    const scripts = [...html.matchAll(/<script([^>]*)>([\s\S]*?)<\/script>/g)];
    expect(scripts.length).toBeGreaterThan(0);
    for (const [, attrs, body] of scripts) {
      expect(body.trim()).toBe(''); // no inline script: script-src 'self' allows none
      const src = /src="([^"]+)"/.exec(attrs)?.[1];
      expect(src).toBeDefined();
      expect(src).not.toMatch(/^(https?:)?\/\//); // same origin
      const asset = await t.http().get(new URL(src!, `${t.url}/docs/`).pathname);
      expect([src, asset.status]).toEqual([src, 200]);
    }
    const css = /href="([^"]+\.css)"/.exec(html)?.[1];
    expect((await t.http().get(new URL(css!, `${t.url}/docs/`).pathname)).status).toBe(200);
  });

  it('by default allows any origin WITHOUT credentials, never echoing a foreign origin', async () => {
    const res = await t.http().get('/health').set('Origin', FOREIGN);
    expect(res.headers['access-control-allow-origin']).toBe('*');
    expect(res.headers['access-control-allow-credentials']).toBeUndefined();
    const pre = await t
      .http()
      .options('/users/me')
      .set('Origin', FOREIGN)
      .set('Access-Control-Request-Method', 'GET')
      .set('Access-Control-Request-Headers', 'authorization');
    expect(pre.headers['access-control-allow-origin']).toBe('*');
    expect(pre.headers['access-control-allow-credentials']).toBeUndefined();
    const io = await t.http().get('/socket.io/?EIO=4&transport=polling').set('Origin', FOREIGN);
    expect(io.headers['access-control-allow-origin']).not.toBe(FOREIGN);
    expect(io.headers['access-control-allow-credentials']).toBeUndefined();
  });

  it('with CORS_ORIGINS allows exactly those origins, with credentials, on REST and socket.io', async () => {
    const listed = await startApp({ CORS_ORIGINS: 'https://chat.example,https://admin.example' });
    try {
      const ok = await listed.http().get('/health').set('Origin', 'https://chat.example');
      expect(ok.headers['access-control-allow-origin']).toBe('https://chat.example');
      expect(ok.headers['access-control-allow-credentials']).toBe('true');
      const foreign = await listed.http().get('/health').set('Origin', FOREIGN);
      expect(foreign.headers['access-control-allow-origin']).toBeUndefined();
      const io = await listed.http().get('/socket.io/?EIO=4&transport=polling').set('Origin', FOREIGN);
      expect(io.headers['access-control-allow-origin']).toBeUndefined();
      const ioOk = await listed
        .http()
        .get('/socket.io/?EIO=4&transport=polling')
        .set('Origin', 'https://admin.example');
      expect(ioOk.headers['access-control-allow-origin']).toBe('https://admin.example');
      // A WebSocket upgrade is not subject to CORS: the origin is checked on the handshake.
      const wsFrom = (origin?: string) =>
        new Promise<string>((resolve) => {
          const s = ioClient(listed.url, {
            transports: ['websocket'],
            auth: { token: 'not-a-jwt' },
            extraHeaders: origin ? { Origin: origin } : {},
            forceNew: true,
            reconnection: false,
          });
          s.once('connect_error', (e) => {
            s.close();
            resolve(e.message);
          });
        });
      // Refused before the handshake reaches socket.io (no "unauthorized": never got that far).
      expect(await wsFrom(FOREIGN)).toBe('websocket error');
      // Allowed origins and clients without an Origin (apps, servers) reach the token check.
      expect(await wsFrom('https://chat.example')).toBe('unauthorized');
      expect(await wsFrom()).toBe('unauthorized');
      // So do pages this server serves itself (the web client): same origin.
      expect(await wsFrom(new URL(listed.url).origin)).toBe('unauthorized');
      expect(await wsFrom('null')).toBe('websocket error');
    } finally {
      await listed.close();
    }
  });

  it('answers requests the HTTP parser refuses with the error body and a code, not a bare status line', async () => {
    const huge = await rawRequest(t.url, `GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
    expect(huge.statusLine).toBe('HTTP/1.1 431 Request Header Fields Too Large');
    expect(JSON.parse(huge.body)).toEqual({
      statusCode: 431,
      code: 'PAYLOAD_TOO_LARGE',
      message: 'The request headers are too large',
    });
    const broken = await rawRequest(t.url, 'GET /health HTTP/1.1\r\nHost x\r\n\r\n');
    expect(broken.statusLine).toBe('HTTP/1.1 400 Bad Request');
    expect(JSON.parse(broken.body)).toEqual({
      statusCode: 400,
      code: 'VALIDATION_FAILED',
      message: 'Malformed HTTP request',
    });
    // And the server still serves.
    expect((await t.http().get('/health/live')).status).toBe(200);
  });

  it('serves a request with an Upgrade header outside socket.io as a plain one; a bogus Expect gets the error body', async () => {
    // curl --http2 on http:// sends this: engine.io ended such connections after 1 s, with nothing written.
    const h2c = 'Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n';
    const health = await rawRequest(t.url, `GET /health/live HTTP/1.1\r\nHost: x\r\n${h2c}\r\n`);
    expect(health.statusLine).toBe('HTTP/1.1 200 OK');
    expect(JSON.parse(health.body)).toMatchObject({ status: 'ok' });
    // A body, its second half written later: read from the socket, so the login is judged (401), not refused as empty (400).
    const body = JSON.stringify({ username: 'nobody-here', password: 'not the password' });
    const login = await rawRequest(
      t.url,
      `POST /auth/login HTTP/1.1\r\nHost: x\r\n${h2c}Content-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body.slice(0, 10)}`,
      body.slice(10),
    );
    expect(login.statusLine).toBe('HTTP/1.1 401 Unauthorized');
    expect(JSON.parse(login.body)).toMatchObject({ statusCode: 401, code: 'UNAUTHORIZED' });
    const chunked = await rawRequest(
      t.url,
      `POST /auth/login HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n`,
    );
    expect(chunked.statusLine).toBe('HTTP/1.1 400 Bad Request');
    expect(JSON.parse(chunked.body)).toMatchObject({ statusCode: 400, code: 'VALIDATION_FAILED' });
    const expect417 = await rawRequest(t.url, 'GET /health/live HTTP/1.1\r\nHost: x\r\nExpect: something-else\r\n\r\n');
    expect(expect417.statusLine).toBe('HTTP/1.1 417 Expectation Failed');
    expect(JSON.parse(expect417.body)).toMatchObject({ statusCode: 417, code: 'VALIDATION_FAILED' });
    // socket.io's own upgrade still is socket.io's.
    const u = await createUser(t, 'upgrader');
    const s = ioClient(t.url, { auth: { token: u.token }, transports: ['websocket'], reconnection: false });
    await new Promise<void>((resolve, reject) => {
      s.once('connect', resolve);
      s.once('connect_error', reject);
    });
    s.disconnect();
  });

  it('keeps no more than a buffer of an Upgrade request body the route does not read, and drops the rest', async () => {
    // A probe sent such bodies on 1,000 connections to GET /health: all of each was kept for the request timeout.
    const path = '/users/me?upgrade-body'; // no token: 401 before anything reads the body
    let pushed = 0;
    let servedOn: Socket | undefined;
    const spy = jest.spyOn(IncomingMessage.prototype, 'push').mockImplementation(function (
      this: IncomingMessage,
      chunk: unknown,
      ...rest: unknown[]
    ) {
      if (this.url === path && Buffer.isBuffer(chunk)) {
        pushed += chunk.length;
        servedOn = this.socket;
      }
      return Readable.prototype.push.call(this, chunk, ...(rest as [BufferEncoding?]));
    });
    try {
      const size = EARLY_REFUSAL_BYTES; // the most any request may declare (413 above)
      const { hostname, port } = new URL(t.url);
      const { statusLine, written } = await new Promise<{ statusLine: string; written: number }>((resolve, reject) => {
        let head = '';
        let written = 0;
        const socket = tcpConnect({ port: Number(port), host: hostname, allowHalfOpen: true }, () => {
          socket.write(
            `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: h2c\r\nContent-Length: ${size}\r\n\r\n`,
          );
          const chunk = Buffer.alloc(64 * 1024, 'a');
          const pump = (): void => {
            while (written < size) {
              written += chunk.length;
              if (!socket.write(chunk)) return void socket.once('drain', pump);
            }
            socket.end();
          };
          pump();
        });
        socket.setEncoding('utf8');
        socket.on('data', (d: string) => (head += d));
        socket.on('error', reject);
        socket.on('close', () => resolve({ statusLine: head.split('\r\n')[0], written }));
        socket.setTimeout(20_000, () => socket.destroy(new Error('the server stopped reading')));
      });
      // The server's side closes once it has read the body's last byte and the client's FIN.
      await new Promise<void>((resolve) =>
        servedOn!.destroyed ? resolve() : servedOn!.once('close', () => resolve()),
      );
      expect(statusLine).toBe('HTTP/1.1 401 Unauthorized');
      expect(written).toBe(size); // read to the end by the server: dropped, not left unread
      expect(pushed).toBeGreaterThan(0);
      expect(pushed).toBeLessThan(size / 4); // it was all of it, for as long as the connection lasted
    } finally {
      spy.mockRestore();
    }
  });

  it('serves an Upgrade request pipelined behind another after that one, and answers Expect on it as Node does', async () => {
    // The second request's upgrade came while the first was answering: assigning it the socket threw and the process exited.
    const h2c = 'Connection: Upgrade\r\nUpgrade: h2c\r\n';
    const body = JSON.stringify({ username: 'nobody-here', password: 'not the password' });
    const login = `POST /auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
    const both = await rawAnswers(t.url, `${login}GET /health/live HTTP/1.1\r\nHost: x\r\n${h2c}\r\n`);
    expect(both.map((a) => a.statusLine)).toEqual(['HTTP/1.1 401 Unauthorized', 'HTTP/1.1 200 OK']);
    expect((await t.http().get('/health/live')).status).toBe(200);

    const expectOther = await rawAnswers(t.url, `GET /health/live HTTP/1.1\r\nHost: x\r\n${h2c}Expect: foo\r\n\r\n`);
    expect(expectOther.map((a) => a.statusLine)).toEqual(['HTTP/1.1 417 Expectation Failed']);
    expect(JSON.parse(expectOther[0].body)).toMatchObject({ statusCode: 417, code: 'VALIDATION_FAILED' });
    const continued = await rawAnswers(
      t.url,
      `POST /auth/login HTTP/1.1\r\nHost: x\r\n${h2c}Expect: 100-continue\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`,
      body,
    );
    expect(continued.map((a) => a.statusLine)).toEqual(['HTTP/1.1 100 Continue', 'HTTP/1.1 401 Unauthorized']);
  });

  it('answers a request pipelined before a malformed one, then refuses the malformed one', async () => {
    // The 400 used to end the connection at once: the login ran, and its answer was lost.
    const body = JSON.stringify({ username: 'nobody-here', password: 'not the password' });
    const login = `POST /auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
    const answers = await rawAnswers(t.url, `${login}GARBAGE\r\n\r\n`);
    expect(answers.map((a) => a.statusLine)).toEqual(['HTTP/1.1 401 Unauthorized', 'HTTP/1.1 400 Bad Request']);
    expect(JSON.parse(answers[1].body)).toMatchObject({ code: 'VALIDATION_FAILED', message: 'Malformed HTTP request' });
  });

  it('answers CONNECT with 405 in the error shape', async () => {
    const [answer] = await rawAnswers(t.url, 'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n');
    expect(answer.statusLine).toBe('HTTP/1.1 405 Method Not Allowed');
    expect(JSON.parse(answer.body)).toMatchObject({ statusCode: 405, code: 'VALIDATION_FAILED' });
  });

  it('drops an Upgrade request still unanswered when the server drops its connections at shutdown', async () => {
    // Node let go of such sockets at the upgrade: closeAllConnections (shutdown, after its grace) did not reach them.
    const { hostname, port } = new URL(t.url);
    const socket = tcpConnect(Number(port), hostname);
    await new Promise((resolve) => socket.once('connect', resolve));
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.on('error', () => {});
    const server = t.app.getHttpServer() as Server;
    // Served as a request (in flight, waiting for the rest of its body) before the drop.
    const served = new Promise<void>((resolve) => {
      const seen = (req: IncomingMessage) => {
        if (req.url !== '/auth/login?half-body') return;
        server.off('request', seen);
        resolve();
      };
      server.on('request', seen);
    });
    socket.write(
      'POST /auth/login?half-body HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n' +
        'Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"a":',
    );
    await served;
    try {
      server.closeAllConnections(); // what shutdown does after its grace (closeWithDeadline)
      const outcome = await Promise.race([closed.then(() => 'closed'), sleep(5_000).then(() => 'still open')]);
      expect(outcome).toBe('closed');
    } finally {
      socket.destroy();
    }
  });

  it('answers a body that is not JSON, or JSON but not an object, saying which', async () => {
    const u = await createUser(t, 'notjson');
    const post = (body: string) =>
      t.http().post('/chatrooms').set(auth(u)).set('Content-Type', 'application/json').send(body);
    const notAnObject = {
      message: 'The payload must be a JSON object',
      details: [{ field: '', errors: ['must be an object'] }],
    };
    const notJson = {
      message: 'The body is not valid JSON',
      details: [{ field: 'body', errors: ['must be valid JSON'] }],
    };
    const cases: [string, typeof notJson][] = [
      ...['null', '12', '"a string"', 'true', '  null'].map((b): [string, typeof notJson] => [b, notAnObject]),
      ...['{bad', '[1,', '{"name": "x",}'].map((b): [string, typeof notJson] => [b, notJson]),
    ];
    for (const [body, answer] of cases) {
      const res = await post(body);
      expect([body, res.status, res.body]).toEqual([
        body,
        400,
        { statusCode: 400, code: 'VALIDATION_FAILED', ...answer },
      ]);
    }
    // A body that is not what its Content-Encoding says: zlib's "incorrect header check" was the message.
    for (const encoding of ['gzip', 'deflate', 'br']) {
      const res = await post('{"name": "x"}').set('Content-Encoding', encoding);
      expect([encoding, res.status, res.body]).toEqual([
        encoding,
        400,
        {
          statusCode: 400,
          code: 'VALIDATION_FAILED',
          message: `The body is not valid ${encoding} (Content-Encoding)`,
          details: [{ field: 'body', errors: [`must be ${encoding}-encoded as Content-Encoding says`] }],
        },
      ]);
    }
  });

  it('reads path ids from plain decimal digits only: 1e3, 0x10, padded digits and leading zeros are not ids', async () => {
    const login = await t
      .http()
      .post('/auth/register')
      .send({ username: 'pathids', password: 'correct horse battery' });
    expect(login.status).toBe(201);
    const { accessToken } = (
      await t.http().post('/auth/login').send({ username: 'pathids', password: 'correct horse battery' })
    ).body;
    for (const id of ['1e3', '0x10', '%207', '7%20', '1.0', '+7', '01', '0001000', '0']) {
      const res = await t.http().get(`/chatrooms/${id}`).set('Authorization', `Bearer ${accessToken}`);
      expect([id, res.status, res.body.code, res.body.details]).toEqual([
        id,
        400,
        'VALIDATION_FAILED',
        [{ field: 'id', errors: ['id must be an integer from 1 to 2147483647'] }],
      ]);
    }
    const plain = await t.http().get('/chatrooms/1000').set('Authorization', `Bearer ${accessToken}`);
    expect([plain.status, plain.body.code]).toEqual([404, 'NOT_FOUND']);
  });

  it('refuses query parameters on a route that takes none, naming them, after authentication', async () => {
    const u = await createUser(t, 'noquery');
    expect((await t.http().get('/chatrooms?limit=1')).status).toBe(401);
    const res = await t.http().get('/chatrooms?limit=1&__proto__=x').set(auth(u));
    expect([res.status, res.body.message, res.body.details]).toEqual([
      400,
      'This route takes no query parameters',
      [
        { field: 'limit', errors: ['property limit should not exist'] },
        { field: '__proto__', errors: ['property __proto__ should not exist'] },
      ],
    ]);
    const long = await t
      .http()
      .get(`/users/me?${'q'.repeat(5000)}=1`)
      .set(auth(u));
    expect([long.status, long.body.details[0].field]).toEqual([400, `${'q'.repeat(64)}…`]);
    const unnamed = await t.http().get('/users/me?=1').set(auth(u));
    expect(unnamed.body.details).toEqual([{ field: '', errors: ['a parameter without a name should not exist'] }]);
    const health = await t.http().get('/health/live?probe=1');
    expect([health.status, health.body.code]).toEqual([400, 'VALIDATION_FAILED']);
    // No query, or an empty one, is fine; routes with a query DTO keep their own answers.
    expect((await t.http().get('/chatrooms?').set(auth(u))).status).toBe(200);
    const sent = await t.http().get('/messages/sent?x=1').set(auth(u));
    expect([sent.status, sent.body.details]).toEqual([400, [{ field: 'x', errors: ['property x should not exist'] }]]);
  });

  it('refuses a body with content on a route that takes none, after authentication', async () => {
    const u = await createUser(t, 'nobody');
    // No token: the 401 comes first, whatever the body.
    expect((await t.http().post('/auth/logout-all').send({ everywhere: false })).status).toBe(401);
    for (const body of [{ everywhere: false }, [1]]) {
      const res = await t.http().post('/auth/logout-all').set(auth(u)).send(body);
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ code: 'VALIDATION_FAILED', message: 'This route takes no request body' });
    }
    for (const [type, body] of [
      ['text/plain', 'hello'],
      ['application/x-www-form-urlencoded', 'a=1'],
      ['application/octet-stream', 'x'],
    ]) {
      const res = await t.http().post('/auth/logout-all').set(auth(u)).set('Content-Type', type).send(body);
      expect(res.status).toBe(400);
    }
    // Nothing was done: the token still works. An empty object is no content.
    expect((await t.http().get('/users/me').set(auth(u))).status).toBe(200);
    expect((await t.http().post('/auth/logout-all').set(auth(u)).send({})).status).toBe(204);
    expect((await t.http().get('/users/me').set(auth(u))).status).toBe(401);
  });

  // A 240 KB `[[[[…` built about 6 MB of arrays in JSON.parse before anything looked at it,
  // authentication included: a probe with no token stalled every user for seconds.
  it('refuses a body of too many objects and arrays before parsing it, with or without a token', async () => {
    const u = await createUser(t, 'deepbody');
    const deep = '['.repeat(120_000) + ']'.repeat(120_000);
    const wide = JSON.stringify({ name: 'r', memberIds: Array.from({ length: 3000 }, () => [1]) });
    for (const [path, token, body] of [
      ['/auth/login', undefined, deep],
      ['/chatrooms', undefined, deep],
      ['/chatrooms', u, deep],
      ['/chatrooms', u, wide],
    ] as const) {
      const req = t.http().post(path).set('Content-Type', 'application/json');
      const res = await (token ? req.set(auth(token)) : req).send(body);
      expect([res.status, res.body]).toEqual([
        400,
        {
          statusCode: 400,
          code: 'VALIDATION_FAILED',
          message: 'Payload too complex: more than 2048 objects and arrays',
          details: [{ field: 'body', errors: ['must not be more than 2048 objects and arrays'] }],
        },
      ]);
    }
    // Too deep but small: parsed, and refused naming the field, as before.
    const res = await t
      .http()
      .post('/chatrooms')
      .set(auth(u))
      .send({ name: 'r', memberIds: JSON.parse('['.repeat(40) + ']'.repeat(40)) as unknown });
    expect(res.status).toBe(400);
    expect(res.body.details[0].field).toMatch(/^memberIds/);
  });

  it('takes JSON bodies in UTF-8 only: other charsets get 415 before decoding, so the bracket count holds', async () => {
    const u = await createUser(t, 'charsetbody');
    // Raw bytes through fetch: supertest would JSON-encode a Buffer.
    const post = (charset: string, body: Buffer) =>
      fetch(`${t.url}/chatrooms`, {
        method: 'POST',
        headers: { ...auth(u), 'Content-Type': `application/json; charset=${charset}` },
        body,
      }).then(async (r) => [r.status, await r.json()] as const);
    const deep = '['.repeat(3000) + ']'.repeat(3000);
    const bodies: [string, Buffer][] = [
      // UTF-16: "\u2200" is the bytes 00 22, a quote to a byte scan, which then skipped the brackets.
      ['utf-16le', Buffer.from('["\u2200",' + deep + ']', 'utf16le')],
      ['UTF-16BE', Buffer.from(deep, 'utf16le').swap16()],
      // UTF-7: "[" is "+AFs-", no 0x5B byte at all.
      ['utf-7', Buffer.from('+AFsAWwBbAFsAWwBbAFsAWwBbAFs-')],
    ];
    for (const [charset, body] of bodies) {
      expect(await post(charset, body)).toEqual([
        415,
        { statusCode: 415, code: 'VALIDATION_FAILED', message: `unsupported charset "${charset.toUpperCase()}"` },
      ]);
    }
    // UTF-8 named, in any case, is the default it always was.
    const [status, room] = await post('UTF-8', Buffer.from(JSON.stringify({ name: 'utf-8 named' })));
    expect([status, (room as { name: string }).name]).toEqual([201, 'utf-8 named']);
  });

  it('answers a socket event of too many objects and arrays unparsed; closes a connection at its sixth CONNECT', async () => {
    const u = await createUser(t, 'deepsocket');
    const s = ioClient(t.url, { transports: ['websocket'], auth: { token: u.token }, reconnection: false });
    await new Promise<void>((resolve, reject) => s.once('connect', resolve).once('connect_error', reject));
    let nested: unknown = 1;
    for (let i = 0; i < 3000; i++) nested = [nested];
    const ack = (await s.timeout(5000).emitWithAck('sendMessage', nested)) as unknown;
    expect(ack).toEqual({
      ok: false,
      error: {
        code: 'VALIDATION_FAILED',
        message: 'Payload too complex: more than 2048 objects and arrays',
        details: [{ field: 'body', errors: ['must not be more than 2048 objects and arrays'] }],
      },
    });
    expect(s.connected).toBe(true);
    s.close();

    // Refused handshakes retried on one connection (raw CONNECT packets: the client library
    // closes its connection after a refusal): five answers, then the connection closes.
    const m = new Manager(t.url, { transports: ['websocket'], reconnection: false, autoConnect: false });
    await new Promise<void>((resolve, reject) => m.open((err) => (err ? reject(err) : resolve())));
    const answers: string[] = [];
    m.engine.on('message', (data) => answers.push(String(data)));
    const gone = new Promise<void>((resolve) => m.engine.once('close', () => resolve()));
    for (let i = 0; i < 8 && m.engine.readyState === 'open'; i++) {
      m.engine.send('0{"token":"nope"}');
      await new Promise((r) => setTimeout(r, 50));
    }
    await gone;
    expect(answers).toEqual(Array(5).fill('4{"message":"unauthorized"}'));
  });

  it('answers a path parameter that is not percent-encoded UTF-8 with VALIDATION_FAILED naming the path', async () => {
    const u = await createUser(t, 'badpath');
    for (const path of ['/users/%ED%A0%80', '/chatrooms/%FF/messages', '/messages/%E0%A4%A']) {
      const res = await t.http().get(path).set(auth(u));
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ code: 'VALIDATION_FAILED', details: [{ field: 'path' }] });
    }
  });

  it('refuses to start in production without CORS_ORIGINS, naming the variable', async () => {
    const s = spawnServer({ PORT: freePort(), NODE_ENV: 'production' }); // JWT_SECRET comes from testEnv
    expect(await exitOf(s)).toBe(1);
    expect(s.output()).toContain('CORS_ORIGINS: is required when NODE_ENV=production');
    expect(s.output()).not.toContain('JWT_SECRET');
  });
});

/** Writes raw bytes to the server (`later` 50 ms after) and reads the answer until the server closes the connection (5 s at most). */
function rawRequest(url: string, request: string, later?: string): Promise<{ statusLine: string; body: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = tcpConnect(Number(port), hostname, () => {
      socket.write(request);
      if (later !== undefined) setTimeout(() => socket.write(later), 50);
    });
    let raw = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (raw += chunk));
    socket.on('error', reject);
    // A server that never answers nor closes: an empty answer, which fails the test rather than hang it.
    socket.setTimeout(5_000, () => socket.destroy());
    socket.on('close', () => {
      const [head, body = ''] = raw.split('\r\n\r\n');
      resolve({ statusLine: head.split('\r\n')[0], body });
    });
  });
}

/**
 * Writes raw bytes to the server (`later` 100 ms after) and parses every answer it writes
 * until it closes the connection (5 s at most): status line and body of each, by Content-Length.
 */
async function rawAnswers(
  url: string,
  request: string,
  later?: string,
): Promise<{ statusLine: string; body: string }[]> {
  const { hostname, port } = new URL(url);
  const raw = await new Promise<string>((resolve, reject) => {
    let text = '';
    const socket = tcpConnect(Number(port), hostname, () => {
      socket.write(request);
      if (later !== undefined) setTimeout(() => socket.write(later), 100);
    });
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (text += chunk));
    socket.on('error', reject);
    socket.setTimeout(5_000, () => socket.destroy());
    socket.on('close', () => resolve(text));
  });
  const answers: { statusLine: string; body: string }[] = [];
  let rest = raw;
  while (rest.length) {
    const end = rest.indexOf('\r\n\r\n');
    if (end < 0) break;
    const head = rest.slice(0, end);
    const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
    answers.push({ statusLine: head.split('\r\n')[0], body: rest.slice(end + 4, end + 4 + length) });
    rest = rest.slice(end + 4 + length);
  }
  return answers;
}
