import type { TestApp } from './app';

export interface TestUser {
  id: number;
  username: string;
  token: string;
}

/** The password every test user registers with. */
export const TEST_PASSWORD = 'correct horse battery';

let counter = 0;

/** Registers and logs in a fresh user through the API. */
export async function createUser(t: TestApp, prefix = 'user'): Promise<TestUser> {
  const username = `${prefix}_${process.pid % 1000}_${++counter}`;
  const password = TEST_PASSWORD;
  const reg = await t.http().post('/auth/register').send({ username, password });
  if (reg.status !== 201) throw new Error(`register failed: ${reg.status} ${JSON.stringify(reg.body)}`);
  const login = await t.http().post('/auth/login').send({ username, password });
  if (login.status !== 200) throw new Error(`login failed: ${login.status} ${JSON.stringify(login.body)}`);
  return { id: reg.body.id, username, token: login.body.accessToken };
}

export const auth = (u: TestUser) => ({ Authorization: `Bearer ${u.token}` });

/** A group room owned by `owner` with `members`. */
export async function createRoom(
  t: TestApp,
  owner: TestUser,
  members: TestUser[] = [],
  name = 'room',
): Promise<number> {
  const res = await t
    .http()
    .post('/chatrooms')
    .set(auth(owner))
    .send({ name, memberIds: members.map((m) => m.id) });
  if (res.status !== 201) throw new Error(`create room failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.id;
}
