import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { rawClient as client } from '../../test/utils/raw-client';
import {
  capConnectionsPerAddress,
  capUnansweredRequests,
  connectionCapExempt,
  limitIdleConnections,
} from './http-connections';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

async function listen(handler: Handler): Promise<{ server: Server; port: number }> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port };
}

const get = (path: string) => `GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`;
const answers = (raw: string) => raw.match(/HTTP\/1\.1 200/g)?.length ?? 0;
const connections = (server: Server) =>
  new Promise<number>((resolve, reject) => server.getConnections((err, n) => (err ? reject(err) : resolve(n))));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('http connections', () => {
  let server: Server | undefined;
  const clients: Socket[] = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) c.destroy();
    if (!server) return;
    server.closeAllConnections();
    await new Promise((resolve) => server!.close(resolve));
    server = undefined;
  });

  describe('limitIdleConnections', () => {
    it('destroys a connection that sends nothing', async () => {
      const s = await listen((_req, res) => res.end('ok'));
      server = s.server;
      limitIdleConnections(server, 200);
      const c = await client(s.port);
      clients.push(c.socket);
      await c.closed; // without the limit, Node waits for the request forever (here: the test's timeout)
      expect(c.received()).toBe('');
    });

    it('destroys a connection that stops reading its answer, whoever else listens for the timeout', async () => {
      const big = Buffer.alloc(32 * 1024 * 1024, 'x'); // far more than the kernel buffers hold
      const s = await listen((_req, res) => {
        res.on('timeout', () => undefined); // someone listens: Node alone would not destroy the socket then
        res.end(big);
      });
      server = s.server;
      limitIdleConnections(server, 300);
      const c = await client(s.port);
      clients.push(c.socket);
      c.socket.pause(); // reads nothing
      c.socket.write(get('/'));
      await eventuallyZero(server);
    });

    it('leaves a connection alone while its answer makes progress, however long it takes', async () => {
      const s = await listen((_req, res) => {
        let n = 0;
        const tick = setInterval(() => (++n < 6 ? res.write(`${n};`) : (clearInterval(tick), res.end('end'))), 150);
      });
      server = s.server;
      limitIdleConnections(server, 300); // twice the gap between writes, a third of the whole answer
      const c = await client(s.port);
      clients.push(c.socket);
      c.socket.write(get('/'));
      await waitFor(() => c.received().includes('end'));
      expect(c.socket.destroyed).toBe(false);
    });
  });

  describe('capUnansweredRequests', () => {
    /** A server answering each request 20 ms after it came, at most 3 unanswered per connection. */
    async function slowAnswers() {
      const state = { handled: 0 };
      const s = await listen((_req, res) => {
        state.handled++;
        setTimeout(() => res.end('ok'), 20);
      });
      server = s.server;
      capUnansweredRequests(server, 3);
      const c = await client(s.port);
      clients.push(c.socket);
      return { c, state };
    }

    it('answers pipelined requests up to the cap', async () => {
      const { c, state } = await slowAnswers();
      c.socket.write(get('/1') + get('/2') + get('/3')); // one TCP write: Node parses them at once
      await waitFor(() => answers(c.received()) === 3);
      expect(state.handled).toBe(3);
      c.socket.write(get('/4')); // the first three were answered: room again
      await waitFor(() => answers(c.received()) === 4);
    });

    it('destroys the connection on one more, before any handler sees it or the rest of the batch', async () => {
      const { c, state } = await slowAnswers();
      c.socket.write(Array.from({ length: 10 }, (_, i) => get(`/${i}`)).join(''));
      await c.closed;
      expect(state.handled).toBe(3); // without the cap: 10 answers built for a client reading none
      expect(answers(c.received())).toBe(0); // the first three died with the connection
    });
  });

  describe('capConnectionsPerAddress', () => {
    it('closes a connection over the cap at once and counts it; a closed one makes room', async () => {
      const s = await listen((_req, res) => res.end('ok'));
      server = s.server;
      let refused = 0;
      capConnectionsPerAddress(
        server,
        2,
        () => false,
        () => refused++,
      );
      const [a, b] = [await client(s.port), await client(s.port)];
      clients.push(a.socket, b.socket);
      const over = await client(s.port);
      clients.push(over.socket);
      await over.closed; // without the cap it would stay open
      expect(refused).toBe(1);
      expect(a.socket.destroyed || b.socket.destroyed).toBe(false);
      a.socket.destroy();
      await a.closed;
      await waitFor(async () => (await connections(server!)) === 1);
      const next = await client(s.port);
      clients.push(next.socket);
      next.socket.write(get('/'));
      await waitFor(() => answers(next.received()) === 1);
      expect(refused).toBe(1);
    });

    it('does not count exempt addresses, and 0 means no cap', async () => {
      for (const [max, exempt] of [
        [1, () => true],
        [0, () => false],
      ] as const) {
        const s = await listen((_req, res) => res.end('ok'));
        let refused = 0;
        capConnectionsPerAddress(s.server, max, exempt, () => refused++);
        const cs = [await client(s.port), await client(s.port), await client(s.port)];
        await sleep(50);
        expect(cs.map((c) => c.socket.destroyed)).toEqual([false, false, false]);
        expect(refused).toBe(0);
        for (const c of cs) c.socket.destroy();
        s.server.closeAllConnections();
        await new Promise((resolve) => s.server.close(resolve));
      }
    });
  });

  describe('connectionCapExempt', () => {
    it('exempts the addresses Express trusts as proxies, nothing else, loopback included', () => {
      const exempt = connectionCapExempt((address, hop) => hop === 0 && address.startsWith('10.'));
      for (const a of ['10.0.0.7', '10.1.2.3']) expect(exempt(a)).toBe(true);
      for (const a of ['127.0.0.1', '::1', '192.0.2.1', '::ffff:192.0.2.1', '2001:db8::1'])
        expect(exempt(a)).toBe(false);
    });
  });
});

async function waitFor(ok: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(20);
  }
}

async function eventuallyZero(server: Server): Promise<void> {
  await waitFor(async () => (await connections(server)) === 0);
}
