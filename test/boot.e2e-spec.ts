import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { TEST_DATABASE_URL } from './setup/test-env';
import { sql } from './utils/app';
import { exitOf, freePort, spawnServer } from './utils/processes';

const ROOT = path.resolve(__dirname, '..');

describe('boot (e2e)', () => {
  it('exits with a clear message when PostgreSQL is unreachable', async () => {
    const s = spawnServer({ PORT: freePort(), DATABASE_URL: 'postgresql://postgres@127.0.0.1:1/chat_test' });
    expect(await exitOf(s)).toBe(1);
    expect(s.output()).toMatch(/PostgreSQL is not reachable at 127\.0\.0\.1:1 \(DATABASE_URL\)/);
    expect(s.output()).toContain('docker compose up -d');
  });

  it('exits naming the variable when configuration is invalid', async () => {
    const s = spawnServer({ PORT: 'abc', JWT_SECRET: 'short' });
    expect(await exitOf(s)).toBe(1);
    expect(s.output()).toMatch(/PORT: .*integer/);
    expect(s.output()).toMatch(/JWT_SECRET: must be at least 32 characters/);
    expect(s.output().trim().split('\n')).toHaveLength(1);
  });

  it('refuses to start in production without JWT_SECRET', async () => {
    const s = spawnServer({ PORT: freePort(), NODE_ENV: 'production', JWT_SECRET: '' });
    expect(await exitOf(s)).toBe(1);
    expect(s.output()).toContain('JWT_SECRET: is required when NODE_ENV=production');
  });

  it('db:prepare creates a missing database and applies every migration (migrate deploy)', async () => {
    const name = `chat_migrate_${process.pid}_test`;
    await sql(`DROP DATABASE IF EXISTS ${name}`);
    try {
      const res = spawnSync(process.execPath, ['dist/src/cli/db-prepare.js'], {
        cwd: ROOT,
        env: { ...process.env, DATABASE_URL: `postgresql://postgres@127.0.0.1:5432/${name}` },
        encoding: 'utf8',
      });
      expect(res.stderr + res.stdout).toMatch(/database missing/);
      expect(res.status).toBe(0);
      const { Client } = await import('pg');
      const c = new Client({ connectionString: `postgresql://postgres@127.0.0.1:5432/${name}` });
      await c.connect();
      const tables = (await c.query("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")).rows.map(
        (r) => r.tablename,
      );
      const applied = (await c.query('SELECT count(*)::int AS n FROM _prisma_migrations WHERE finished_at IS NOT NULL'))
        .rows[0].n;
      await c.end();
      expect(tables).toEqual(expect.arrayContaining(['users', 'chatrooms', 'chatroom_members', 'messages']));
      const { readdirSync } = await import('node:fs');
      const dirs = readdirSync(path.join(ROOT, 'prisma/migrations')).filter((d) => /^\d+_/.test(d));
      expect(applied).toBe(dirs.length);
    } finally {
      await sql(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    }
  });

  /**
   * `prisma migrate diff` and `migrate dev` run the schema engine against a shadow database
   * built from the migrations: through the WASM shim (prisma/schema-engine-shim.mjs) they
   * died describing it until the shim handed PostgreSQL's "char" columns over as characters.
   */
  describe('prisma migrate diff, through the schema-engine shim', () => {
    const diff = (schema: string) =>
      spawnSync(
        process.execPath,
        [
          require.resolve('prisma/build/index.js'),
          'migrate',
          'diff',
          '--from-migrations',
          'prisma/migrations',
          '--to-schema',
          schema,
          '--script',
          '--exit-code',
        ],
        // A hung engine must fail the test, not block Jest's worker (spawnSync holds its event loop).
        { cwd: ROOT, env: { ...process.env, DATABASE_URL: TEST_DATABASE_URL }, encoding: 'utf8', timeout: 120_000 },
      );
    const shadowDatabases = async () =>
      (
        await sql<{ n: number }>(
          "SELECT count(*)::int AS n FROM pg_database WHERE datname LIKE 'prisma_migrate_shadow_db_%'",
        )
      )[0].n;
    let shadowsBefore: number;
    beforeAll(async () => {
      shadowsBefore = await shadowDatabases();
    });

    it('finds the migrations and schema.prisma in agreement (exit code 0: no difference)', () => {
      const res = diff('prisma/schema.prisma');
      if (res.status !== 0) throw new Error(`migrate diff exited with ${res.status}:\n${res.stdout}\n${res.stderr}`);
      expect(res.stdout).toContain('This is an empty migration');
    });

    it('writes the SQL of a change to the schema (exit code 2: a difference)', () => {
      const dir = mkdtempSync(path.join(tmpdir(), 'schema-'));
      try {
        const schema = readFileSync(path.join(ROOT, 'prisma/schema.prisma'), 'utf8').replace(
          'model Chatroom {',
          'model Chatroom {\n  topic String?',
        );
        writeFileSync(path.join(dir, 'schema.prisma'), schema);
        const res = diff(path.join(dir, 'schema.prisma'));
        if (res.status !== 2) throw new Error(`migrate diff exited with ${res.status}:\n${res.stdout}\n${res.stderr}`);
        expect(res.stdout).toMatch(/ALTER TABLE "chatrooms" ADD COLUMN\s+"topic" TEXT/);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it('leaves none of its temporary shadow databases behind', async () => {
      expect(await shadowDatabases()).toBe(shadowsBefore);
    });
  });
});
