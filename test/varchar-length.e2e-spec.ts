import { resetState, sql, startApp, TestApp } from './utils/app';
import { auth, createUser, TEST_PASSWORD, TestUser } from './utils/users';

/**
 * PostgreSQL's varchar(n) counts code points; validator.js (class-validator's @Length and
 * @MaxLength) counted a character followed by a variation selector as one. Values that
 * passed validation overflowed their column and came back as 500 INTERNAL.
 */
const VS = 'a\uFE0F'; // two code points, one "character" to validator.js

let counter = 0;
const username = () => `vs_${process.pid % 1000}_${++counter}`;

/** The body of a refusal of exactly `field`, with a length rule among its messages. */
function expectTooLong(res: { status: number; body: any }, field: string): void {
  expect([res.status, res.body.code]).toEqual([400, 'VALIDATION_FAILED']);
  expect(res.body.details).toEqual([
    { field, errors: expect.arrayContaining([expect.stringMatching(/shorter than or equal to \d+ characters/)]) },
  ]);
}

describe('varchar columns count code points, as PostgreSQL does (e2e)', () => {
  let t: TestApp;
  let owner: TestUser;

  beforeAll(async () => {
    await resetState();
    t = await startApp();
    owner = await createUser(t, 'vs_owner');
  });
  afterAll(() => t.close());

  describe('POST /chatrooms name (varchar(100))', () => {
    it('refuses 101+ code points that validator.js counted as 100 characters', async () => {
      const res = await t
        .http()
        .post('/chatrooms')
        .set(auth(owner))
        .send({ name: VS.repeat(100) });
      expectTooLong(res, 'name');
    });

    it('stores exactly 100 code points', async () => {
      const name = VS.repeat(50);
      const res = await t.http().post('/chatrooms').set(auth(owner)).send({ name });
      expect([res.status, res.body.name]).toEqual([201, name]);
      const [row] = await sql<{ n: number }>('SELECT char_length(name) AS n FROM chatrooms WHERE id = $1', [
        res.body.id,
      ]);
      expect(row.n).toBe(100);
    });
  });

  describe('POST /auth/register', () => {
    const register = (body: Record<string, unknown>) =>
      t
        .http()
        .post('/auth/register')
        .send({ username: username(), password: TEST_PASSWORD, ...body });

    it('refuses a nickName over 64 code points (varchar(64))', async () => {
      expectTooLong(await register({ nickName: VS.repeat(64) }), 'nickName');
    });

    it('refuses a headPic over 1024 code points (varchar(1024))', async () => {
      expectTooLong(await register({ headPic: 'https://example.com/' + VS.repeat(1000) }), 'headPic');
    });

    it('refuses an email over 254 code points once lower-cased, as it is stored (varchar(254))', async () => {
      // U+0130 is one code point; lower-cased it is two (i + U+0307). 163 of them as sent.
      const I = '\u0130';
      const email = `${I.repeat(32)}@${I.repeat(60)}.${I.repeat(60)}.${I.repeat(4)}.com`;
      const res = await register({ email });
      expect([res.status, res.body.code]).toEqual([400, 'VALIDATION_FAILED']);
      expect(res.body.details.map((d: { field: string }) => d.field)).toEqual(['email']);
    });

    it('names the username when it is too long in code points', async () => {
      const res = await register({ username: VS.repeat(32) });
      expect([res.status, res.body.code]).toEqual([400, 'VALIDATION_FAILED']);
      expect(res.body.details).toEqual([
        {
          field: 'username',
          errors: expect.arrayContaining(['username must be shorter than or equal to 32 characters']),
        },
      ]);
    });

    it('stores a nickName and a headPic of exactly their column length in code points', async () => {
      const nickName = VS.repeat(32);
      const headPic = 'https://example.com/' + VS.repeat(502);
      expect([...headPic].length).toBe(1024);
      const res = await register({ nickName, headPic });
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({ nickName, headPic });
      const [row] = await sql<{ nick: number; pic: number }>(
        'SELECT char_length(nick_name) AS nick, char_length(head_pic) AS pic FROM users WHERE id = $1',
        [res.body.id],
      );
      expect(row).toEqual({ nick: 64, pic: 1024 });
    });
  });
});
