import { spawn } from 'node:child_process';
import path from 'node:path';
import { testEnv } from './setup/test-env';
import { eventually, resetState, sql, startApp, TestApp } from './utils/app';
import { closeAllSockets, collect, connect, emitAck, sleep } from './utils/sockets';
import { auth, createRoom, createUser, TestUser } from './utils/users';

const CLI = path.resolve(__dirname, '..', 'dist', 'src', 'cli', 'create-admin.js');

/** Runs `npm run admin:create -- <username>` (the built script) against the test database. */
function adminCreate(
  username: string,
  env: Record<string, string> = {},
): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const proc = spawn(process.execPath, [CLI, username], {
      env: { PATH: process.env.PATH ?? '', ...testEnv(env) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (out += d.toString()));
    proc.once('exit', (code) => resolve({ code, out }));
  });
}

const role = async (id: number) => (await sql<{ role: string }>('SELECT role FROM users WHERE id = $1', [id]))[0].role;

describe('admin:create and all-or-nothing bulk retraction (e2e)', () => {
  let t: TestApp;
  let alice: TestUser, bob: TestUser, admin: TestUser;
  let room: number;

  beforeAll(async () => {
    await resetState();
    t = await startApp({ SEND_BURST: '200' });
    [alice, bob, admin] = await Promise.all(['alice', 'bob', 'admin'].map((n) => createUser(t, n)));
    await sql("UPDATE users SET role = 'admin' WHERE id = $1", [admin.id]);
    room = await createRoom(t, alice, [bob]);
  });
  afterAll(async () => {
    closeAllSockets();
    await sql('DROP TRIGGER IF EXISTS refuse_one_update ON messages');
    await t.close();
  });

  describe('admin:create', () => {
    it('promotes an existing user without ADMIN_PASSWORD, leaving the password alone', async () => {
      const { code, out } = await adminCreate(bob.username);
      expect([code, out]).toEqual([0, expect.stringContaining(`promoted admin ${bob.username}`)]);
      expect(await role(bob.id)).toBe('admin');
      const login = await t
        .http()
        .post('/auth/login')
        .send({ username: bob.username, password: 'correct horse battery' });
      expect(login.status).toBe(200);
      await sql("UPDATE users SET role = 'user' WHERE id = $1", [bob.id]);
    });

    it('refuses a name that is an existing user in another case, promoting nobody', async () => {
      const upper = alice.username.toUpperCase();
      const { code, out } = await adminCreate(upper, { ADMIN_PASSWORD: 'a long admin secret' });
      expect(code).not.toBe(0);
      expect(out).toContain(`the user is ${alice.username}`);
      expect(await role(alice.id)).toBe('user');
      expect(await sql('SELECT id FROM users WHERE username = $1', [upper])).toEqual([]);
    });

    it('creates a new admin only with ADMIN_PASSWORD', async () => {
      expect((await adminCreate('root_new')).out).toContain('set ADMIN_PASSWORD to create it');
      const { code } = await adminCreate('root_new', { ADMIN_PASSWORD: 'a long admin secret' });
      expect(code).toBe(0);
      const login = await t.http().post('/auth/login').send({ username: 'root_new', password: 'a long admin secret' });
      expect(login.body.user.role).toBe('admin');
    });
  });

  /** Sends through a socket and waits until the worker stored them. */
  async function sendStored(u: TestUser, n: number): Promise<string[]> {
    const s = await connect(t.url, u.token);
    const ids: string[] = [];
    for (let i = 0; i < n; i++) {
      const ack = await emitAck(s, 'sendMessage', { chatroomId: room, message: { type: 'text', content: `m${i}` } });
      ids.push(ack.data.id as string);
    }
    s.disconnect();
    await eventually(
      async () => (await sql('SELECT 1 FROM messages WHERE id = ANY($1::uuid[])', [ids])).length === n,
      10_000,
      'stored',
    );
    return ids;
  }

  const deletedOf = async (ids: string[]) =>
    (await sql<{ id: string }>('SELECT id FROM messages WHERE id = ANY($1::uuid[]) AND deleted_at IS NOT NULL', [ids]))
      .length;

  it('DELETE /messages: one id the caller may not retract changes nothing', async () => {
    const mine = await sendStored(alice, 3);
    const [bobs] = await sendStored(bob, 1);
    const res = await t
      .http()
      .delete('/messages')
      .set(auth(alice))
      .send({ ids: [...mine, bobs] });
    expect([res.status, res.body.code]).toEqual([403, 'FORBIDDEN']);
    expect(await deletedOf([...mine, bobs])).toBe(0);
  });

  it('DELETE /messages: a write failing for one message leaves every stored row and the room untouched', async () => {
    const ids = await sendStored(alice, 4);
    const watcher = await connect(t.url, bob.token);
    await emitAck(watcher, 'joinRoom', { chatroomId: room });
    const events = collect(watcher, 'message');
    // The database refuses to tombstone the third message (a stand-in for any failure mid-batch).
    await sql(`CREATE OR REPLACE FUNCTION refuse_one_update() RETURNS trigger AS $$
      BEGIN RAISE EXCEPTION 'refused for the test'; END $$ LANGUAGE plpgsql`);
    await sql(`CREATE TRIGGER refuse_one_update BEFORE UPDATE ON messages FOR EACH ROW
      WHEN (OLD.id = '${ids[2]}'::uuid) EXECUTE FUNCTION refuse_one_update()`);
    try {
      const res = await t.http().delete('/messages').set(auth(alice)).send({ ids });
      expect(res.status).toBe(500);
      expect(await deletedOf(ids)).toBe(0);
      await sleep(300);
      expect(events.filter((e) => e.type === 'deleteMessage')).toEqual([]);
    } finally {
      await sql('DROP TRIGGER refuse_one_update ON messages');
    }
    // Sending the same request again completes it.
    const again = await t.http().delete('/messages').set(auth(alice)).send({ ids });
    expect(again.status).toBe(200);
    expect(await deletedOf(ids)).toBe(4);
  });

  it('DELETE /admin/messages: an unknown id among them changes nothing; a failing write neither', async () => {
    const ids = await sendStored(bob, 3);
    const unknown = '01900000-0000-7000-8000-000000000000';
    const res = await t
      .http()
      .delete('/admin/messages')
      .set(auth(admin))
      .send({ ids: [...ids, unknown] });
    expect([res.status, res.body.code]).toEqual([404, 'NOT_FOUND']);
    expect(await deletedOf(ids)).toBe(0);
    await sql(`CREATE OR REPLACE FUNCTION refuse_one_update() RETURNS trigger AS $$
      BEGIN RAISE EXCEPTION 'refused for the test'; END $$ LANGUAGE plpgsql`);
    await sql(`CREATE TRIGGER refuse_one_update BEFORE UPDATE ON messages FOR EACH ROW
      WHEN (OLD.id = '${ids[0]}'::uuid) EXECUTE FUNCTION refuse_one_update()`);
    try {
      expect((await t.http().delete('/admin/messages').set(auth(admin)).send({ ids })).status).toBe(500);
      expect(await deletedOf(ids)).toBe(0);
    } finally {
      await sql('DROP TRIGGER refuse_one_update ON messages');
    }
    expect((await t.http().delete('/admin/messages').set(auth(admin)).send({ ids })).status).toBe(200);
    expect(await deletedOf(ids)).toBe(3);
  });
});
