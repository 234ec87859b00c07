import { resetState, sql, startApp, TestApp } from './utils/app';

describe('auth (e2e)', () => {
  let t: TestApp;

  beforeAll(async () => {
    await resetState();
    t = await startApp();
  });
  afterAll(() => t.close());

  describe('POST /auth/register', () => {
    it('creates a user (201) without exposing the password hash', async () => {
      const res = await t
        .http()
        .post('/auth/register')
        .send({ username: 'alice', password: 'password123', nickName: 'Alice' });
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({ id: expect.any(Number), username: 'alice', nickName: 'Alice', role: 'user' });
      expect(JSON.stringify(res.body)).not.toMatch(/password|scrypt/i);
    });

    it('stores a slow-KDF hash, never the plain password', async () => {
      const [row] = await sql<{ password_hash: string }>("SELECT password_hash FROM users WHERE username = 'alice'");
      expect(row.password_hash).toMatch(/^scrypt\$32768\$8\$1\$/);
      expect(row.password_hash).not.toContain('password123');
    });

    it('refuses a taken username with 409 CONFLICT', async () => {
      const res = await t.http().post('/auth/register').send({ username: 'alice', password: 'another-pass' });
      expect(res.status).toBe(409);
      expect(res.body).toMatchObject({ statusCode: 409, code: 'CONFLICT' });
    });

    it('refuses a username taken in another case: names are unique regardless of case', async () => {
      const res = await t.http().post('/auth/register').send({ username: 'ALICE', password: 'another-pass' });
      expect(res.status).toBe(409);
      expect(res.body).toMatchObject({ code: 'CONFLICT', details: [{ field: 'username', errors: ['taken'] }] });
      const [{ n }] = await sql<{ n: number }>("SELECT count(*)::int AS n FROM users WHERE lower(username) = 'alice'");
      expect(n).toBe(1);
    });

    it('refuses a bad body with 400 and the list of fields', async () => {
      const res = await t.http().post('/auth/register').send({ username: 'a!', password: 'short' });
      expect(res.status).toBe(400);
      expect(res.body.code).toBe('VALIDATION_FAILED');
      const fields = res.body.details.map((d: { field: string }) => d.field).sort();
      expect(fields).toEqual(['password', 'username']);
    });

    it.each(['javascript:alert(1)', 'data:text/html,<script>alert(1)</script>', 'ftp://example.com/a.png', 'a.png'])(
      'refuses a headPic that is not an http(s) URL: %s',
      async (headPic) => {
        const res = await t
          .http()
          .post('/auth/register')
          .send({ username: 'pic_bad', password: 'password123', headPic });
        expect(res.status).toBe(400);
        expect(res.body).toMatchObject({ code: 'VALIDATION_FAILED' });
        expect(res.body.details).toEqual(expect.arrayContaining([expect.objectContaining({ field: 'headPic' })]));
      },
    );

    it('takes an http(s) headPic, or none', async () => {
      const url = 'https://cdn.example.com/avatars/7.png';
      const withPic = await t
        .http()
        .post('/auth/register')
        .send({ username: 'pic_ok', password: 'password123', headPic: url });
      expect(withPic.status).toBe(201);
      expect(withPic.body.headPic).toBe(url);
      const empty = await t
        .http()
        .post('/auth/register')
        .send({ username: 'pic_none', password: 'password123', headPic: '' });
      expect(empty.status).toBe(201);
      expect(empty.body.headPic).toBe('');
    });

    it('rejects unknown fields (no silent mass assignment of role)', async () => {
      const res = await t
        .http()
        .post('/auth/register')
        .send({ username: 'mallory', password: 'password123', role: 'admin' });
      expect(res.status).toBe(400);
      expect(res.body.details).toEqual([{ field: 'role', errors: [expect.stringContaining('should not exist')] }]);
    });

    it('answers malformed JSON with 400, not 500', async () => {
      const res = await t.http().post('/auth/register').set('content-type', 'application/json').send('{"username":');
      expect(res.status).toBe(400);
      expect(res.body.code).toBe('VALIDATION_FAILED');
    });

    it('answers an oversized body with 413 PAYLOAD_TOO_LARGE', async () => {
      const res = await t
        .http()
        .post('/auth/register')
        .send({ username: 'big', password: 'x'.repeat(300_000) });
      expect(res.status).toBe(413);
      expect(res.body.code).toBe('PAYLOAD_TOO_LARGE');
    });
  });

  describe('POST /auth/login', () => {
    it('returns a token and the user (200)', async () => {
      const res = await t.http().post('/auth/login').send({ username: 'alice', password: 'password123' });
      expect(res.status).toBe(200);
      expect(res.body.accessToken).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
      expect(res.body.user).toMatchObject({ username: 'alice' });
    });

    it('takes the username in any case and answers with the case it was registered with', async () => {
      const reg = await t.http().post('/auth/register').send({ username: 'MixedCase', password: 'password123' });
      expect(reg.status).toBe(201);
      for (const username of ['mixedcase', 'MIXEDCASE', 'MixedCase']) {
        const res = await t.http().post('/auth/login').send({ username, password: 'password123' });
        expect(res.status).toBe(200);
        expect(res.body.user).toMatchObject({ id: reg.body.id, username: 'MixedCase' });
      }
      const wrong = await t.http().post('/auth/login').send({ username: 'MIXEDCASE', password: 'wrong-password' });
      expect(wrong.status).toBe(401);
    });

    it('gives the same 401 for a wrong password and an unknown user', async () => {
      const wrong = await t.http().post('/auth/login').send({ username: 'alice', password: 'wrong-password' });
      const unknown = await t.http().post('/auth/login').send({ username: 'nobody', password: 'wrong-password' });
      expect(wrong.status).toBe(401);
      expect(unknown.status).toBe(401);
      expect(wrong.body).toEqual(unknown.body);
      expect(wrong.body.code).toBe('UNAUTHORIZED');
    });

    it('the token opens GET /users/me', async () => {
      const login = await t.http().post('/auth/login').send({ username: 'alice', password: 'password123' });
      const me = await t.http().get('/users/me').set('Authorization', `Bearer ${login.body.accessToken}`);
      expect(me.status).toBe(200);
      expect(me.body).toMatchObject({ username: 'alice', role: 'user' });
    });
  });
});
