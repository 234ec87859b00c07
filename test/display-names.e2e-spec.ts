import { resetState, sql, startApp, TestApp } from './utils/app';
import { auth, createUser, TEST_PASSWORD, TestUser } from './utils/users';

/**
 * Names other users read as who wrote or where (a sender's nickName, a room's name) are not
 * blank and carry no bidirectional override, embedding or isolate (U+202A-U+202E,
 * U+2066-U+2069): a hostile client registered "", " ", "\u200b" (rendering as nothing) and
 * "\u202eecila" (reading "alice") and so hid or posed as someone else in every timeline.
 * Letters of right-to-left scripts and emoji are ordinary names.
 */

let counter = 0;
const username = () => `dn_${process.pid % 1000}_${++counter}`;

/** A 400 VALIDATION_FAILED naming exactly `field`, with a message matching `rule`. */
function expectRefused(res: { status: number; body: any }, field: string, rule: RegExp): void {
  expect([res.status, res.body.code]).toEqual([400, 'VALIDATION_FAILED']);
  expect(res.body.details).toEqual([{ field, errors: expect.arrayContaining([expect.stringMatching(rule)]) }]);
}

const BLANK = /must not be blank/;
const BIDI = /must not contain bidirectional override, embedding or isolate characters/;

describe('display names: not blank, no bidirectional controls (e2e)', () => {
  let t: TestApp;
  let owner: TestUser;

  beforeAll(async () => {
    await resetState();
    t = await startApp();
    owner = await createUser(t, 'dn_owner');
  });
  afterAll(() => t.close());

  describe('POST /auth/register nickName', () => {
    const register = (body: Record<string, unknown>) =>
      t
        .http()
        .post('/auth/register')
        .send({ username: username(), password: TEST_PASSWORD, ...body });

    it.each([
      ['empty', ''],
      ['a space', ' '],
      ['whitespace of several kinds', '\t\u00a0\u3000'],
      ['a zero-width space', '\u200b'],
      ['zero-width joiners and a BOM', '\u200c\u200d\ufeff'],
      ['only direction marks', '\u200e\u200f'],
      ['the blank Braille pattern and a Hangul filler', '\u2800\u3164'],
    ])('refuses a blank nickName (%s) with 400 naming nickName', async (_label, nickName) => {
      expectRefused(await register({ nickName }), 'nickName', BLANK);
    });

    it.each([
      ['a right-to-left override', '\u202eevil'],
      ['a left-to-right isolate', 'a\u2066b'],
      ['a right-to-left embedding', '\u202bname'],
      ['a pop directional isolate at the end', 'alice\u2069'],
      ['a first-strong isolate', '\u2068bob'],
    ])('refuses a nickName with %s with 400 naming nickName', async (_label, nickName) => {
      expectRefused(await register({ nickName }), 'nickName', BIDI);
    });

    it('refuses a nickName that is only a bidirectional control with both rules', async () => {
      const res = await register({ nickName: '\u202e' });
      expectRefused(res, 'nickName', BLANK);
      expectRefused(res, 'nickName', BIDI);
    });

    it.each([
      ['Hebrew', 'שלום'],
      ['Arabic', 'مرحبا'],
      ['Arabic with a Latin word', 'علي Ali'],
      ['Hebrew with a right-to-left mark after punctuation', 'שלום!\u200f'],
      ['emoji', 'Alice 😀🎉'],
      ['emoji with a joiner and a variation selector', '👩\u200d💻 dev \u2764\ufe0f'],
      ['CJK', '小明'],
      ['spaces around a name, kept as sent', '  Bob  '],
    ])('takes a nickName (%s) and stores it as sent', async (_label, nickName) => {
      const res = await register({ nickName });
      expect(res.status).toBe(201);
      expect(res.body.nickName).toBe(nickName);
      const [row] = await sql<{ nick: string }>('SELECT nick_name AS nick FROM users WHERE id = $1', [res.body.id]);
      expect(row.nick).toBe(nickName);
    });

    it('shows a user who gives no nickName by the username', async () => {
      const name = username();
      const res = await t.http().post('/auth/register').send({ username: name, password: TEST_PASSWORD });
      expect(res.status).toBe(201);
      expect(res.body.nickName).toBe(name);
    });

    it('documents the rule as a pattern on nickName in the OpenAPI document', async () => {
      const doc = (await t.http().get('/docs-json')).body;
      const nick = doc.components.schemas.RegisterDto.properties.nickName;
      const pattern = new RegExp(nick.pattern, 'u');
      for (const bad of ['', ' ', '\u200b', '\u202eevil', 'a\u2066b']) expect(pattern.test(bad)).toBe(false);
      for (const good of ['שלום', 'مرحبا', 'Alice 😀']) expect(pattern.test(good)).toBe(true);
    });
  });

  describe('POST /chatrooms name', () => {
    const create = (name: unknown) => t.http().post('/chatrooms').set(auth(owner)).send({ name });

    it.each([
      ['a right-to-left override', '\u202eroom'],
      ['a right-to-left isolate', 'team \u2067x'],
      ['a left-to-right override', 'a\u202db'],
    ])('refuses a name with %s with 400 naming name', async (_label, name) => {
      expectRefused(await create(name), 'name', BIDI);
    });

    it.each([' ', '\u200b', '\u200e'])('still refuses the blank name %p', async (name) => {
      expectRefused(await create(name), 'name', BLANK);
    });

    it.each([
      ['Arabic', 'غرفة الأصدقاء'],
      ['Hebrew', 'חדר משפחה'],
      ['emoji', 'Team 🚀'],
    ])('takes a room name (%s)', async (_label, name) => {
      const res = await create(name);
      expect([res.status, res.body.name]).toEqual([201, name]);
    });

    it('documents the rule as a pattern on name in the OpenAPI document', async () => {
      const doc = (await t.http().get('/docs-json')).body;
      const pattern = new RegExp(doc.components.schemas.CreateChatroomDto.properties.name.pattern, 'u');
      expect(pattern.test('\u202eroom')).toBe(false);
      expect(pattern.test(' ')).toBe(false);
      expect(pattern.test('غرفة')).toBe(true);
    });
  });
});
