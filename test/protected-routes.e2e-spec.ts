import { resetState, startApp, TestApp } from './utils/app';

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
  afterAll(() => t.close());

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

  it('serves /health and the OpenAPI document without a token', async () => {
    expect((await t.http().get('/health')).status).toBe(200);
    const doc = await t.http().get('/docs-json');
    expect(doc.status).toBe(200);
    expect(Object.keys(doc.body.paths)).toEqual(expect.arrayContaining(['/auth/register', '/chatrooms/{id}/messages']));
  });
});
