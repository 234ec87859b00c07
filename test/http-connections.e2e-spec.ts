import * as http from 'node:http';
import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import { SOCKET_CONNECT_TIMEOUT_MS } from '../src/chat/redis-io.adapter';
import { HTTP_IDLE_TIMEOUT_MS, UNANSWERED_REQUESTS_MAX } from '../src/common/http-connections';
import { eventually, resetState, startApp, TestApp } from './utils/app';
import { parseMetrics, valueOf } from './utils/metrics';
import { rawClient as rawClientOf } from './utils/raw-client';
import { closeAllSockets, connect, sleep } from './utils/sockets';
import { createUser } from './utils/users';

/** Raw clients of a test, destroyed after it. */
async function rawClient(port: number, localAddress?: string) {
  const c = await rawClientOf(port, localAddress);
  open.push(c.socket);
  return c;
}
const open: Socket[] = [];

const get = (path: string) => `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`;
const statusLines = (raw: string) => raw.match(/HTTP\/1\.1 \d+/g) ?? [];
const connections = (server: Server) =>
  new Promise<number>((resolve, reject) => server.getConnections((err, n) => (err ? reject(err) : resolve(n))));

/**
 * An engine.io long-polling client from `localAddress`, over one kept-alive connection (as
 * a browser's would be): handshakes, polls and posts, each answered with status and body.
 */
function pollingClient(url: string, localAddress: string) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const opened = new Set<unknown>();
  const request = (method: string, path: string, body?: string, timeoutMs = 5000) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.request(`${url}${path}`, { method, agent, localAddress, timeout: timeoutMs }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      });
      req.on('socket', (socket) => opened.add(socket));
      req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no answer`)));
      req.on('error', reject);
      req.end(body);
    });
  return {
    handshake: () => request('GET', '/socket.io/?EIO=4&transport=polling'),
    get: (path: string, timeoutMs?: number) => request('GET', path, undefined, timeoutMs),
    post: (sid: string, body: string) => request('POST', `/socket.io/?EIO=4&transport=polling&sid=${sid}`, body),
    connections: () => opened.size,
  };
}

/**
 * Addresses for connections the per-address cap counts: on Linux all of 127.0.0.0/8 is this
 * host, so connections from 127.0.0.2 and .3 to 127.0.0.1 are apart from the test's own
 * (fetch and supertest, from 127.0.0.1, some kept alive).
 */
const FLOODER = '127.0.0.2';
const NEIGHBOUR = '127.0.0.3';

describe('HTTP connections (e2e)', () => {
  afterEach(() => {
    for (const s of open.splice(0)) s.destroy();
    closeAllSockets();
  });

  describe('one app, default limits', () => {
    let t: TestApp;
    let port: number;
    let server: Server;

    beforeAll(async () => {
      await resetState();
      t = await startApp();
      port = Number(new URL(t.url).port);
      server = t.app.getHttpServer() as Server;
    });
    afterAll(() => t?.close());

    it('destroys a connection that got a parse error answer though the client neither reads nor closes', async () => {
      const before = await connections(server);
      const c = await rawClient(port);
      c.socket.pause(); // never reads, never ends
      c.socket.write('NOT HTTP\r\n\r\n');
      await eventually(async () => (await connections(server)) === before, 5000, 'the server to drop the connection');
    });

    it('times idle connections out after 60 s, well above the longest socket.io long poll', async () => {
      expect(server.timeout).toBe(HTTP_IDLE_TIMEOUT_MS);
      const handshake = await (await fetch(`${t.url}/socket.io/?EIO=4&transport=polling`)).text();
      const { pingInterval, pingTimeout } = JSON.parse(handshake.slice(1)) as Record<string, number>;
      // A poll is answered by the next ping at the latest, every pingInterval.
      expect(HTTP_IDLE_TIMEOUT_MS).toBeGreaterThan(pingInterval + pingTimeout);
    });

    it('answers a few pipelined requests and destroys a connection that pipelines more', async () => {
      const few = await rawClient(port);
      few.socket.write(get('/health/live').repeat(UNANSWERED_REQUESTS_MAX));
      await eventually(() => statusLines(few.received()).length === UNANSWERED_REQUESTS_MAX, 5000, 'the answers');
      expect(statusLines(few.received())).toEqual(Array(UNANSWERED_REQUESTS_MAX).fill('HTTP/1.1 200'));

      const cuts = async () =>
        valueOf(parseMetrics(await (await fetch(`${t.url}/metrics`)).text()), 'chat_rate_limited_total', {
          scope: 'http_pipelining',
        });
      const before = await cuts();
      const many = await rawClient(port);
      many.socket.write(get('/docs-json').repeat(10)); // one TCP write, read by the server at once
      await many.closed; // without the cap: kept alive after ten answers built for it
      expect(statusLines(many.received()).length).toBeLessThan(10);
      expect((await cuts()) - before).toBe(1); // one connection cut, counted once
    });

    it('sends no ETag on API answers; the web client files keep theirs', async () => {
      for (const path of ['/health/live', '/docs-json']) {
        const res = await t.http().get(path);
        expect(res.status).toBe(200);
        expect(res.headers.etag).toBeUndefined();
      }
      const page = await t.http().get('/');
      if (page.status === 200) expect(page.headers.etag).toBeDefined(); // only with a web build (npm run build:web)
    });

    it('serializes the OpenAPI document once, not per request, and no longer serves the YAML copy', async () => {
      const first = await t.http().get('/docs-json');
      expect(first.body.openapi).toBeDefined();
      const stringify = jest.spyOn(JSON, 'stringify');
      try {
        const again = await t.http().get('/docs-json');
        expect(again.text).toBe(first.text);
        const ofDocument = stringify.mock.calls.filter(([v]) => (v as { openapi?: unknown } | null)?.openapi);
        expect(ofDocument).toEqual([]);
      } finally {
        stringify.mockRestore();
      }
      expect((await t.http().get('/docs-yaml')).status).toBe(404);
    });

    it('lets an upgraded WebSocket idle past the idle timeout, while idle HTTP connections go', async () => {
      const u = await createUser(t, 'idle');
      server.timeout = 300; // shortened for this test; Node arms it on connections accepted from now
      try {
        const ws = await connect(t.url, u.token);
        const http = await rawClient(port);
        await http.closed; // the short timeout is live
        await sleep(1000);
        expect(ws.connected).toBe(true);
      } finally {
        server.timeout = HTTP_IDLE_TIMEOUT_MS;
      }
    });
  });

  describe('connections per address', () => {
    const MAX = 3;
    let t: TestApp | undefined;
    afterEach(async () => {
      for (const s of open.splice(0)) s.destroy(); // before close(), which would wait for them
      await t?.close();
    });

    it("closes an address's connection over CONNECTIONS_PER_ADDRESS_MAX at once and counts it; other addresses go on", async () => {
      t = await startApp({ CONNECTIONS_PER_ADDRESS_MAX: String(MAX) });
      const port = Number(new URL(t.url).port);
      const held = await Promise.all(Array.from({ length: MAX }, () => rawClient(port, FLOODER)));
      const over = await rawClient(port, FLOODER);
      await over.closed; // without the cap it stays open
      expect(over.received()).toBe('');
      held[0].socket.write(get('/health/live')); // the ones within the cap are served
      await eventually(() => statusLines(held[0].received())[0] === 'HTTP/1.1 200', 5000, 'the answer');
      const neighbours = await Promise.all(Array.from({ length: MAX }, () => rawClient(port, NEIGHBOUR)));
      await sleep(100);
      expect(neighbours.map((c) => c.socket.destroyed)).toEqual(Array(MAX).fill(false));
      // Closing one makes room again.
      held[1].socket.destroy();
      await eventually(
        async () => {
          const again = await rawClient(port, FLOODER);
          await sleep(50);
          return !again.socket.destroyed;
        },
        5000,
        'room for one more',
      );
      const m = parseMetrics(await (await fetch(`${t.url}/metrics`)).text());
      expect(valueOf(m, 'chat_rate_limited_total', { scope: 'connections_per_address' })).toBeGreaterThanOrEqual(1);
    });

    it('caps socket.io sessions per address too: a polling flood over one connection is refused and counted', async () => {
      t = await startApp({ CONNECTIONS_PER_ADDRESS_MAX: String(MAX) });
      const flooder = pollingClient(t.url, FLOODER);
      const sids: string[] = [];
      for (let i = 0; i < MAX; i++) {
        const ok = await flooder.handshake();
        expect(ok.status).toBe(200);
        sids.push(JSON.parse(ok.body.slice(1)).sid);
      }
      // One keep-alive connection: without the session cap every handshake made a session.
      expect(flooder.connections()).toBe(1);
      const over = await flooder.handshake();
      expect(over.status).toBe(403);
      expect(over.body).toContain('too many socket.io sessions from this address');
      // Over a WebSocket upgrade the same refusal, with the same status (engine.io wrote 400).
      const port = Number(new URL(t.url).port);
      const upgrade = await rawClient(port, FLOODER);
      upgrade.socket.write(
        'GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\n' +
          'Upgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
      );
      await upgrade.closed;
      const [head, body] = upgrade.received().split('\r\n\r\n');
      expect(head.split('\r\n')[0]).toBe('HTTP/1.1 403 Forbidden');
      expect(JSON.parse(body)).toEqual({
        statusCode: 403,
        code: 'FORBIDDEN',
        message: 'too many socket.io sessions from this address',
      });
      expect((await pollingClient(t.url, NEIGHBOUR).handshake()).status).toBe(200);
      // A session that ends makes room again.
      expect((await flooder.post(sids[0], '1')).status).toBe(200); // engine.io's close packet
      await eventually(async () => (await flooder.handshake()).status === 200, 5000, 'room for one more');
      const m = parseMetrics(await (await fetch(`${t.url}/metrics`)).text());
      expect(valueOf(m, 'chat_rate_limited_total', { scope: 'sessions_per_address' })).toBeGreaterThanOrEqual(1);
    });

    it('closes a session that never sends CONNECT after SOCKET_CONNECT_TIMEOUT_MS, not socket.io’s 45 s', async () => {
      t = await startApp();
      const client = pollingClient(t.url, FLOODER);
      const { sid } = JSON.parse((await client.handshake()).body.slice(1));
      const started = Date.now();
      // A poll waits for the server's next packet: here the close packet, when the session is dropped.
      const poll = await client.get(`/socket.io/?EIO=4&transport=polling&sid=${sid}`, 60_000);
      const waited = Date.now() - started;
      expect(poll.body).toBe('1');
      expect(waited).toBeGreaterThan(SOCKET_CONNECT_TIMEOUT_MS - 1000);
      expect(waited).toBeLessThan(SOCKET_CONNECT_TIMEOUT_MS + 5000);
    }, 30_000);

    it('does not count connections from a proxy TRUST_PROXY trusts', async () => {
      t = await startApp({ CONNECTIONS_PER_ADDRESS_MAX: String(MAX), TRUST_PROXY: FLOODER });
      const port = Number(new URL(t.url).port);
      const conns = await Promise.all(Array.from({ length: MAX + 2 }, () => rawClient(port, FLOODER)));
      await sleep(100);
      expect(conns.map((c) => c.socket.destroyed)).toEqual(Array(MAX + 2).fill(false));
    });
  });
});
