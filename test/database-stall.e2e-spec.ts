import net from 'node:net';
import { TEST_DATABASE_URL } from './setup/test-env';
import { eventually, resetState, startApp, TestApp } from './utils/app';
import { auth, createRoom, createUser, TestUser } from './utils/users';

/** Well above a connection's usual wait here, well below a client's patience. */
const TIMEOUT_MS = 1000;

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
 * node-postgres waits forever by default, so while the database hung every request queued
 * for a pool connection hung with it. The wait for a connection is now bounded
 * (DATABASE_CONNECT_TIMEOUT_MS): past the pool's ten connections, held by statements the
 * database does not answer, requests are refused 503 UNAVAILABLE. Statements already sent
 * are not cut short, so those requests finish normally once the database answers again,
 * and nothing the client was told failed completes later unannounced.
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
    t = await startApp({ DATABASE_URL: url.toString(), DATABASE_CONNECT_TIMEOUT_MS: String(TIMEOUT_MS) });
    alice = await createUser(t, 'dbstallalice');
    room = await createRoom(t, alice);
  });
  afterAll(async () => {
    await relay.close();
    await t?.close();
  });

  it('refuses requests past the hung connections 503 UNAVAILABLE in time; the others finish once it answers', async () => {
    relay.stall(true);
    const started = Date.now();
    const answered: { status: number; code?: string; at: number }[] = [];
    const requests = Array.from({ length: 16 }, () =>
      t
        .http()
        .get(`/chatrooms/${room}`)
        .set(auth(alice))
        .timeout(30_000)
        .then((r) => answered.push({ status: r.status, code: r.body.code, at: Date.now() - started })),
    );
    try {
      // The pool holds 10: at least the other 6 are refused while the database hangs.
      await eventually(() => answered.length >= 6, 4 * TIMEOUT_MS, 'refusals while the database hangs');
      expect(answered.every((a) => a.status === 503 && a.code === 'UNAVAILABLE')).toBe(true);
    } finally {
      relay.stall(false);
    }
    await Promise.all(requests);
    expect(answered.every((a) => [200, 503].includes(a.status))).toBe(true);
    expect(answered.filter((a) => a.status === 200).length).toBeGreaterThan(0);
    const after = await t.http().get(`/chatrooms/${room}`).set(auth(alice));
    expect(after.status).toBe(200);
  });
});
