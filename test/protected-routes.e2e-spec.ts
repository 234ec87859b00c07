import { randomUUID } from 'node:crypto';
import { sign } from 'jsonwebtoken';
import { TEST_JWT_SECRET } from './setup/test-env';
import { resetState, startApp, TestApp } from './utils/app';
import { registerOn } from './utils/processes';
import { closeAllSockets, connect } from './utils/sockets';

/** Every route but register, login, /health and /docs requires a valid bearer token. */
const PROTECTED: [string, string][] = [
  ['get', '/users/me'],
  ['get', '/users/1'],
  ['post', '/chatrooms'],
  ['post', '/chatrooms/direct'],
  ['get', '/chatrooms'],
  ['get', '/chatrooms/1'],
  ['post', '/chatrooms/1/members'],
  ['delete', '/chatrooms/1/members/2'],
  ['get', '/chatrooms/1/messages'],
  ['get', '/chat-history/list?chatroomId=1'],
  ['get', '/inbox'],
  ['get', '/inbox/messages'],
  ['get', '/inbox/messages/01a2017d-07d7-74b1-8295-73c05cacb6f4'],
  ['post', '/inbox/read'],
  ['delete', '/inbox/messages/01a2017d-07d7-74b1-8295-73c05cacb6f4'],
  ['delete', '/inbox/messages'],
  ['get', '/messages/sent'],
  ['get', '/messages/01a2017d-07d7-74b1-8295-73c05cacb6f4/receipts'],
  ['patch', '/messages/01a2017d-07d7-74b1-8295-73c05cacb6f4'],
  ['delete', '/messages/01a2017d-07d7-74b1-8295-73c05cacb6f4'],
  ['delete', '/messages'],
  ['get', '/admin/messages'],
  ['get', '/admin/messages/01a2017d-07d7-74b1-8295-73c05cacb6f4'],
  ['delete', '/admin/messages/01a2017d-07d7-74b1-8295-73c05cacb6f4'],
  ['delete', '/admin/messages'],
];

describe('protected routes (e2e)', () => {
  let t: TestApp;

  beforeAll(async () => {
    await resetState();
    t = await startApp();
  });
  afterAll(async () => {
    closeAllSockets();
    await t.close();
  });

  it.each(PROTECTED)('%s %s should require authentication', async (method, path) => {
    const res = await (t.http() as any)[method](path);
    expect(res.status).toBe(401);
    expect(res.body).toMatchObject({ statusCode: 401, code: 'UNAUTHORIZED' });
  });

  it.each(PROTECTED)('%s %s refuses a forged token', async (method, path) => {
    const forged = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOjEsInVzZXJuYW1lIjoieCIsInJvbGUiOiJhZG1pbiJ9.c2lnbmF0dXJl';
    const res = await (t.http() as any)[method](path).set('Authorization', `Bearer ${forged}`);
    expect(res.status).toBe(401);
  });

  // Signed with the server's own secret, so only the claims' shape can refuse them. `user`: a
  // registered user's id, so that only the claim named is wrong.
  it.each([
    ['a user id past PostgreSQL integer', { sub: 2147483648 }],
    ['a negative user id', { sub: -1 }],
    ['a user id of 0', { sub: 0 }],
    ['a fractional user id', { sub: 1.5 }],
    ['a user id as a string', { sub: 'user' }],
    ['a jti that is an object', { jti: { a: 1 } }],
    ['a jti that is a number', { jti: 7 }],
    ['a jti that is not a UUID', { jti: 'not-a-uuid' }],
  ])('refuses a signed token with %s: 401 on REST, unauthorized on the socket', async (_, claims) => {
    const user = await registerOn(t.url, `claims_${Math.random().toString(36).slice(2, 10)}`);
    expect((await t.http().get('/users/me').set('Authorization', `Bearer ${user.token}`)).status).toBe(200);
    const shaped = { sub: user.id, username: 'x', role: 'user', ver: 0, jti: randomUUID(), ...claims };
    if (shaped.sub === 'user') shaped.sub = String(user.id);
    const token = sign(shaped, TEST_JWT_SECRET, { expiresIn: 60 });
    const res = await t.http().get('/users/me').set('Authorization', `Bearer ${token}`);
    expect(res.status).toBe(401);
    expect(res.body).toMatchObject({ statusCode: 401, code: 'UNAUTHORIZED' });
    await expect(connect(t.url, token)).rejects.toThrow('unauthorized');
  });

  it.each([
    ['no exp', (claims: object) => sign(claims, TEST_JWT_SECRET)],
    [
      'a crit header',
      (claims: object) => sign(claims, TEST_JWT_SECRET, { expiresIn: 60, header: { alg: 'HS256', crit: ['b64'] } }),
    ],
  ])('refuses a signed token with %s: 401 on REST, unauthorized on the socket', async (_, mint) => {
    const user = await registerOn(t.url, `hdr_${Math.random().toString(36).slice(2, 10)}`);
    const token = mint({ sub: user.id, username: 'x', role: 'user', ver: 0, jti: randomUUID() });
    const res = await t.http().get('/users/me').set('Authorization', `Bearer ${token}`);
    expect(res.status).toBe(401);
    expect(res.body).toMatchObject({ statusCode: 401, code: 'UNAUTHORIZED' });
    await expect(connect(t.url, token)).rejects.toThrow('unauthorized');
  });

  it('changes the password for a token from before jti existed, revoking that token too (not a 500)', async () => {
    const user = await registerOn(t.url, `legacy_${Math.random().toString(36).slice(2, 10)}`);
    const legacy = sign({ sub: user.id, username: 'x', role: 'user', ver: 0 }, TEST_JWT_SECRET, { expiresIn: 60 });
    const res = await t
      .http()
      .patch('/users/me/password')
      .set('Authorization', `Bearer ${legacy}`)
      .send({ currentPassword: 'correct horse battery', newPassword: 'another horse battery' });
    expect(res.status).toBe(204);
    expect((await t.http().get('/users/me').set('Authorization', `Bearer ${legacy}`)).status).toBe(401);
  });

  it('refuses a signed token that expires later than one issued now would: 401 on REST, unauthorized on the socket', async () => {
    const user = await registerOn(t.url, `farexp_${Math.random().toString(36).slice(2, 10)}`);
    const now = Math.floor(Date.now() / 1000);
    const mint = (exp: number) =>
      sign({ sub: user.id, username: 'x', role: 'user', ver: 0, jti: randomUUID(), iat: now, exp }, TEST_JWT_SECRET);
    // JWT_EXPIRES_IN is 12h here; a minute of clock skew is allowed.
    const longest = mint(now + 12 * 3600 + 30);
    expect((await t.http().get('/users/me').set('Authorization', `Bearer ${longest}`)).status).toBe(200);
    for (const exp of [now + 12 * 3600 + 120, 1e300]) {
      const token = mint(exp);
      const res = await t.http().get('/users/me').set('Authorization', `Bearer ${token}`);
      expect([exp, res.status, res.body.code]).toEqual([exp, 401, 'UNAUTHORIZED']);
      await expect(connect(t.url, token)).rejects.toThrow('unauthorized');
    }
  });

  it('serves /health and the OpenAPI document without a token', async () => {
    expect((await t.http().get('/health')).status).toBe(200);
    const doc = await t.http().get('/docs-json');
    expect(doc.status).toBe(200);
    expect(Object.keys(doc.body.paths)).toEqual(expect.arrayContaining(['/auth/register', '/chatrooms/{id}/messages']));
  });
});
