import { resetState, sql, startApp, TestApp } from './utils/app';
import { auth, createUser, TestUser } from './utils/users';

/** Admins manage users, but never so that no enabled admin is left. */
describe('admin users: the last admin (e2e)', () => {
  let t: TestApp;
  let admin: TestUser;
  let second: TestUser;

  beforeAll(async () => {
    await resetState();
    t = await startApp();
    admin = await createUser(t, 'root');
    await sql(`UPDATE users SET role = 'admin' WHERE id = $1`, [admin.id]);
  });
  afterAll(() => t.close());

  const disable = (by: TestUser, id: number) => t.http().post(`/admin/users/${id}/disable`).set(auth(by));
  const demote = (by: TestUser, id: number) =>
    t.http().patch(`/admin/users/${id}/role`).set(auth(by)).send({ role: 'user' });

  it('refuses to disable or demote the last enabled admin with 409 CONFLICT, changing nothing', async () => {
    for (const res of [await disable(admin, admin.id), await demote(admin, admin.id)]) {
      expect(res.status).toBe(409);
      expect(res.body).toMatchObject({ code: 'CONFLICT' });
    }
    const [row] = await sql<{ role: string; disabled: boolean }>(
      'SELECT role::text AS role, disabled_at IS NOT NULL AS disabled FROM users WHERE id = $1',
      [admin.id],
    );
    expect(row).toEqual({ role: 'admin', disabled: false });
    expect((await t.http().get('/admin/messages').set(auth(admin))).status).toBe(200);
  });

  it('lets one of two admins go, and of two admins disabling each other at once, exactly one', async () => {
    second = await createUser(t, 'second');
    expect(
      (await t.http().patch(`/admin/users/${second.id}/role`).set(auth(admin)).send({ role: 'admin' })).status,
    ).toBe(204);
    const third = await createUser(t, 'third');
    expect(
      (await t.http().patch(`/admin/users/${third.id}/role`).set(auth(admin)).send({ role: 'admin' })).status,
    ).toBe(204);
    expect((await demote(admin, third.id)).status).toBe(204); // two admins are left

    // The loser gets 409, or, if the winner's disable landed before its request passed the
    // guards, 401 (token revoked) or 403 (no longer an enabled admin). One admin is left.
    const results = await Promise.all([disable(admin, second.id), disable(second, admin.id)]);
    const [won, lost] = results.map((r) => r.status).sort();
    expect(won).toBe(204);
    expect([401, 403, 409]).toContain(lost);
    const [{ n }] = await sql<{ n: number }>(
      "SELECT count(*)::int AS n FROM users WHERE role = 'admin' AND disabled_at IS NULL",
    );
    expect(n).toBe(1);
  });

  it('counts only enabled admins, and still disables and demotes other users', async () => {
    const [{ id }] = await sql<{ id: number }>("SELECT id FROM users WHERE role = 'admin' AND disabled_at IS NULL");
    const survivor = [admin, second].find((u) => u.id === id)!;
    expect((await demote(survivor, survivor.id)).status).toBe(409); // the disabled admin does not count
    const u = await createUser(t, 'plain');
    expect((await disable(survivor, u.id)).status).toBe(204);
    expect((await demote(survivor, u.id)).status).toBe(204);
  });
});
