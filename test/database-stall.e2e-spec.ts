import net from 'node:net';
import { TEST_DATABASE_URL } from './setup/test-env';
import { resetState, startApp, TestApp } from './utils/app';
import { auth, createRoom, createUser, TestUser } from './utils/users';

/** Well above a statement's usual time here, well below a client's patience. */
const TIMEOUT_MS = 1500;

/**
 * A TCP relay to PostgreSQL that can stop passing bytes both ways while keeping every
 * connection open: a database that hangs (paused, a stalled failover, a network that drops
 * packets) rather than one that refuses.
 */
class StallingRelay {
  private readonly pairs = new Set<[net.Socket, net.Socket]>();
  private stalled = false;
  private readonly server = net.createServer((client) => {
    const { hostname, port } = new URL(TEST_DATABASE_URL);
    const upstream = net.connect(Number(port || 5432), hostname);
    const pair: [net.Socket, net.Socket] = [client, upstream];
    this.pairs.add(pair);
    client.pipe(upstream);
    upstream.pipe(client);
    if (this.stalled) pair.forEach((s) => s.pause());
    const drop = () => {
      this.pairs.delete(pair);
      pair.forEach((s) => s.destroy());
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
  });

  async listen(): Promise<number> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return (this.server.address() as net.AddressInfo).port;
  }

  stall(on: boolean): void {
    this.stalled = on;
    for (const pair of this.pairs) pair.forEach((s) => (on ? s.pause() : s.resume()));
  }

  async close(): Promise<void> {
    this.stall(false);
    for (const pair of this.pairs) pair.forEach((s) => s.destroy());
    await new Promise((resolve) => this.server.close(resolve));
  }
}

/**
 * node-postgres waits forever for an answer by default, so while the database hung every
 * REST call that read it hung too, holding its pool connection. Statements now fail after
 * DATABASE_QUERY_TIMEOUT_MS and the request answers 503 UNAVAILABLE; once the database
 * answers again, so does the server.
 */
describe('a database that stops answering (e2e)', () => {
  const relay = new StallingRelay();
  let t: TestApp;
  let alice: TestUser;
  let room: number;

  beforeAll(async () => {
    await resetState();
    const port = await relay.listen();
    const url = new URL(TEST_DATABASE_URL);
    url.hostname = '127.0.0.1';
    url.port = String(port);
    t = await startApp({ DATABASE_URL: url.toString(), DATABASE_QUERY_TIMEOUT_MS: String(TIMEOUT_MS) });
    alice = await createUser(t, 'dbstallalice');
    room = await createRoom(t, alice);
  });
  afterAll(async () => {
    await relay.close();
    await t?.close();
  });

  it('answers 503 UNAVAILABLE within the timeout while the database hangs, and 200 after', async () => {
    relay.stall(true);
    try {
      const started = Date.now();
      const answers = await Promise.all([
        t.http().get(`/chatrooms/${room}`).set(auth(alice)).timeout(15_000),
        t.http().get('/chatrooms').set(auth(alice)).timeout(15_000),
        t.http().get('/users/me').set(auth(alice)).timeout(15_000),
      ]);
      expect(answers.map((r) => [r.status, r.body.code])).toEqual([
        [503, 'UNAVAILABLE'],
        [503, 'UNAVAILABLE'],
        [503, 'UNAVAILABLE'],
      ]);
      expect(Date.now() - started).toBeLessThan(5 * TIMEOUT_MS);
    } finally {
      relay.stall(false);
    }
    const after = await t.http().get(`/chatrooms/${room}`).set(auth(alice));
    expect(after.status).toBe(200);
  });
});
