import { freePort, ServerProcess, spawnServer, waitHealthy } from './utils/processes';
import { closeAllSockets, connect, emitAck } from './utils/sockets';
import { resetState } from './utils/app';

const PASSWORD = 'a password never to be logged';

/** JSON logs from a real server process: one object per line, ids present, no secrets. */
describe('structured logs (e2e)', () => {
  let s: ServerProcess;

  beforeAll(async () => {
    await resetState();
    s = spawnServer({ PORT: freePort(), LOG_FORMAT: 'json', LOG_LEVEL: 'debug' });
    await waitHealthy(s);
  });
  afterAll(async () => {
    closeAllSockets();
    await s?.stop();
  });

  const lines = () =>
    s
      .output()
      .split('\n')
      .filter((l) => l.trim())
      .map((l) => {
        try {
          return JSON.parse(l) as Record<string, any>;
        } catch {
          throw new Error(`not a JSON log line: ${l}`);
        }
      });

  it('logs every request once with ids, every socket event error with its socket, and no secret', async () => {
    const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
      fetch(`${s.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify(body),
      });
    await post('/auth/register', { username: 'logged_user', password: PASSWORD });
    const login = await post(
      '/auth/login',
      { username: 'logged_user', password: PASSWORD },
      { 'x-request-id': 'req-login-1' },
    );
    const { accessToken, user } = (await login.json()) as { accessToken: string; user: { id: number } };
    // A token in the query, by mistake: refused (the route takes no query), and never logged.
    const me = await fetch(`${s.url}/users/me?token=${accessToken}`, {
      headers: { authorization: `Bearer ${accessToken}`, 'x-request-id': 'req-me-1' },
    });
    expect(me.status).toBe(400);
    await post('/auth/login', { username: 'logged_user', password: `${PASSWORD}!` }, { 'x-request-id': 'req-bad-1' });

    // Handshakes with the token in the query and in an Authorization header (long-polling
    // first, so the handshake is an HTTP request the server sees with its URL).
    const byQuery = await connect(s.url, undefined, { query: { token: accessToken }, transports: ['polling'] });
    const byHeader = await connect(s.url, undefined, { extraHeaders: { authorization: `Bearer ${accessToken}` } });
    // A refused event: not a member of room 999999.
    const refused = await emitAck(byQuery, 'joinRoom', { chatroomId: 999_999 });
    expect(refused.error?.code).toBe('NOT_FOUND');
    byHeader.disconnect();

    const wait = Date.now() + 5000;
    while (Date.now() < wait && !lines().some((l) => l.msg === 'socket event refused')) {
      await new Promise((r) => setTimeout(r, 50));
    }
    const out = s.output();
    const logs = lines();

    const requests = logs.filter((l) => l.msg === 'request');
    const byId = (id: string) => requests.filter((l) => l.reqId === id);
    expect(byId('req-login-1')).toEqual([
      expect.objectContaining({ level: 'info', method: 'POST', route: '/auth/login', status: 200 }),
    ]);
    expect(byId('req-me-1')).toEqual([
      expect.objectContaining({ method: 'GET', route: '/users/me', status: 400, userId: user.id }),
    ]);
    expect(byId('req-me-1')[0].durationMs).toEqual(expect.any(Number));
    expect(byId('req-bad-1')).toEqual([expect.objectContaining({ route: '/auth/login', status: 401 })]);
    // Generated ids for requests that bring none.
    expect(requests.every((l) => typeof l.reqId === 'string' && l.reqId.length > 0)).toBe(true);

    expect(logs).toContainEqual(
      expect.objectContaining({ msg: 'socket connected', socketId: byQuery.id, userId: user.id }),
    );
    expect(logs).toContainEqual(
      expect.objectContaining({
        msg: 'socket event refused',
        socketId: byQuery.id,
        userId: user.id,
        event: 'joinRoom',
        code: 'NOT_FOUND',
      }),
    );

    // Nothing secret, anywhere in the output.
    expect(out).not.toContain(accessToken);
    expect(out).not.toContain(accessToken.split('.')[2]); // not even the signature alone
    expect(out).not.toContain(PASSWORD);
    expect(out).not.toContain('e2e-test-secret'); // the JWT secret
  });
});
