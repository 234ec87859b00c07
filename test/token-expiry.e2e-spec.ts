import type { Socket } from 'socket.io-client';
import { ChatGateway } from '../src/chat/chat.gateway';
import { TokenExpiry } from '../src/chat/token-expiry';
import { resetState, startApp, TestApp } from './utils/app';
import { closeAllSockets, connect, emitAck } from './utils/sockets';
import { createRoom, createUser, TEST_PASSWORD } from './utils/users';

/**
 * A socket is honoured only while its access token is: once `exp` has passed, the server
 * says why (`exception`, UNAUTHORIZED) and disconnects it, and the token opens no new one.
 */
describe('sockets and token expiry (e2e)', () => {
  let t: TestApp;

  beforeAll(async () => {
    await resetState();
    t = await startApp({ JWT_EXPIRES_IN: '3' });
  });
  afterEach(() => closeAllSockets());
  afterAll(() => t.close());

  it('disconnects a socket once its token has expired, saying so, and refuses the token after', async () => {
    const [alice, bob] = [await createUser(t, 'exalice'), await createUser(t, 'exbob')];
    const room = await createRoom(t, alice, [bob]);
    // The setup above (two slow password hashes) can outlast a 3-s token under CI load, so
    // the socket gets a token minted just before it connects. Should even that handshake
    // outlast the token, a new login tries again: what this test checks is what happens
    // after a socket with a live token sees it expire.
    let s: Socket | undefined;
    let token = alice.token;
    for (let attempt = 0; !s && attempt < 3; attempt++) {
      token = await login(t, alice.username);
      s = await connect(t.url, token).catch(() => undefined);
    }
    if (!s) throw new Error("no handshake completed within a fresh token's lifetime");
    expect((await emitAck(s, 'joinRoom', { chatroomId: room })).ok).toBe(true);
    const said = new Promise<unknown>((resolve) => s.once('exception', resolve));
    const closed = new Promise<string>((resolve) => s.once('disconnect', resolve));

    const started = Date.now();
    expect(await closed).toBe('io server disconnect');
    expect(await said).toEqual({
      event: 'connection',
      code: 'UNAUTHORIZED',
      message: 'The access token expired: log in again',
    });
    // Not before the token expired (3 s after login), and within a sweep after.
    const elapsed = Date.now() - started;
    expect(elapsed).toBeLessThan(3_000 + 5_000 + 1_000);
    await expect(connect(t.url, token)).rejects.toThrow('unauthorized');
  }, 20_000);

  it('refuses an event that arrives after the token expired, before any sweep, and closes the socket', async () => {
    const [alice, bob] = [await createUser(t, 'evalice'), await createUser(t, 'evbob')];
    const room = await createRoom(t, alice, [bob]);
    // No sweep from here on: only the per-event check can catch the expiry.
    t.app.get<ChatGateway, { expiry: TokenExpiry }>(ChatGateway).expiry.stop();
    let s: Socket | undefined;
    let expiresAt = 0;
    for (let attempt = 0; !s && attempt < 3; attempt++) {
      const token = await login(t, alice.username);
      expiresAt = (JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()) as { exp: number }).exp;
      s = await connect(t.url, token).catch(() => undefined);
    }
    if (!s) throw new Error("no handshake completed within a fresh token's lifetime");
    const closed = new Promise<string>((resolve) => s.once('disconnect', resolve));
    await new Promise((r) => setTimeout(r, Math.max(0, expiresAt * 1000 - Date.now()) + 50));
    const answer = await emitAck(s, 'sendMessage', { chatroomId: room, message: { type: 'text', content: 'late' } });
    expect(answer).toEqual({
      ok: false,
      error: { code: 'UNAUTHORIZED', message: 'The access token expired: log in again' },
    });
    expect(await closed).toBe('io server disconnect');
    const reader = await login(t, bob.username); // the suite's tokens live 3 s
    const history = await t.http().get(`/chatrooms/${room}/messages`).set('Authorization', `Bearer ${reader}`);
    expect(history.body.items).toEqual([]);
  }, 20_000);

  it('lets events through while the token lives', () => {
    let middleware!: (packet: unknown[], next: () => void) => void;
    const socket = {
      data: { user: { expiresAt: 100 } },
      use: (fn: typeof middleware) => (middleware = fn),
      emit: jest.fn(),
      disconnect: jest.fn(),
      disconnected: false,
    };
    let nowMs = 99_000;
    new TokenExpiry({} as never).guard(socket as never, () => nowMs);
    const next = jest.fn();
    const ack = jest.fn();
    middleware(['joinRoom', { chatroomId: 1 }, ack], next);
    expect([next.mock.calls.length, ack.mock.calls.length, socket.disconnect.mock.calls.length]).toEqual([1, 0, 0]);
    nowMs = 100_000;
    middleware(['joinRoom', { chatroomId: 1 }, ack], next);
    expect([next.mock.calls.length, ack.mock.calls.length]).toEqual([1, 1]);
    expect(socket.disconnect).toHaveBeenCalledWith(true);
  });

  async function login(app: TestApp, username: string): Promise<string> {
    const res = await app.http().post('/auth/login').send({ username, password: TEST_PASSWORD });
    if (res.status !== 200) throw new Error(`login failed: ${res.status}`);
    return res.body.accessToken;
  }

  it('a sweep leaves sockets with a live token alone', () => {
    const sockets = new Map([
      ['a', { data: { user: { expiresAt: 100 } }, emit: jest.fn(), disconnect: jest.fn() }],
      ['b', { data: { user: { expiresAt: 200 } }, emit: jest.fn(), disconnect: jest.fn() }],
      ['c', { data: {}, emit: jest.fn(), disconnect: jest.fn() }],
    ]);
    const expiry = new TokenExpiry({ sockets: { sockets } } as never);
    expect(expiry.sweep(150)).toBe(1);
    expect(sockets.get('a')!.disconnect).toHaveBeenCalledWith(true);
    expect(sockets.get('b')!.disconnect).not.toHaveBeenCalled();
    expect(sockets.get('c')!.disconnect).not.toHaveBeenCalled();
  });
});
