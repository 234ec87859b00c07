/**
 * The real server's world: a throw-away database, the bench's Redis keys removed, users and
 * rooms seeded with plain SQL. Seeding bypasses the API on purpose: registering a thousand
 * users would spend most of a minute in the password KDF and measure nothing we care about.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import Redis from 'ioredis';
import { Client } from 'pg';
import { Queues } from '../src/common/constants';
import { benchUsername, type SeedUser } from './topology';

const run = promisify(execFile);
const INSERT_CHUNK = 500;

/** Refuses any database whose name does not say "bench": this drops it. */
function benchDatabaseName(url: string): string {
  const name = decodeURIComponent(new URL(url).pathname.replace(/^\//, ''));
  if (!/bench/i.test(name)) {
    throw new Error(`refusing to drop database "${name}": the bench database name must contain "bench"`);
  }
  return name;
}

export async function resetDatabase(url: string, repoRoot: string): Promise<void> {
  const name = benchDatabaseName(url);
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const client = new Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    const quoted = `"${name.replace(/"/g, '""')}"`;
    await client.query(`DROP DATABASE IF EXISTS ${quoted} WITH (FORCE)`);
    await client.query(`CREATE DATABASE ${quoted}`);
  } finally {
    await client.end();
  }
  await migrate(url, repoRoot);
}

async function migrate(url: string, repoRoot: string): Promise<void> {
  const cli = 'node_modules/prisma/build/index.js';
  try {
    await run(process.execPath, [cli, 'migrate', 'deploy'], {
      cwd: repoRoot,
      env: { ...process.env, DATABASE_URL: url },
      timeout: 120_000,
    });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(`prisma migrate deploy failed: ${e.message}\n${e.stdout ?? ''}${e.stderr ?? ''}`, { cause: err });
  }
}

/**
 * Deletes the service's keys only (never FLUSHALL: the Redis may be shared). Returns how many.
 * Note: anything else using the same Redis database with the `chat:` prefix loses its keys too.
 */
export async function cleanRedis(url: string): Promise<number> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  let deleted = 0;
  try {
    // Queue keys carry the database identity: bull:<id>:message-persist:*.
    for (const match of ['chat:*', `bull:*:${Queues.MessagePersist}:*`]) {
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', match, 'COUNT', 1000);
        cursor = next;
        if (keys.length > 0) deleted += await redis.unlink(...keys);
      } while (cursor !== '0');
    }
  } finally {
    redis.disconnect();
  }
  return deleted;
}

/** Multi-row INSERT of `rows` (each a list of parameters), `INSERT_CHUNK` rows per statement. */
async function insertRows<T>(
  db: Client,
  head: string,
  tuple: (base: number) => string,
  rows: unknown[][],
): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < rows.length; i += INSERT_CHUNK) {
    const chunk = rows.slice(i, i + INSERT_CHUNK);
    const width = chunk[0].length;
    const values = chunk.map((_, r) => tuple(r * width)).join(', ');
    const res = await db.query(`${head} VALUES ${values} RETURNING *`, chunk.flat());
    out.push(...(res.rows as T[]));
  }
  return out;
}

/** Seeds `clients` users and `clients / roomSize` group rooms; the first member owns each room. */
export async function seed(
  url: string,
  clients: number,
  roomSize: number,
): Promise<{ users: SeedUser[]; roomIds: number[] }> {
  const db = new Client({ connectionString: url });
  await db.connect();
  try {
    const userRows = Array.from({ length: clients }, (_, i) => [
      benchUsername(i + 1),
      'bench-no-login',
      `Bench ${i + 1}`,
    ]);
    const users = await insertRows<SeedUser>(
      db,
      'INSERT INTO users (username, password_hash, nick_name, updated_at)',
      (b) => `($${b + 1}, $${b + 2}, $${b + 3}, now())`,
      userRows,
    );
    users.sort((a, b) => a.username.localeCompare(b.username));
    const rooms = clients / roomSize;
    const roomRows = Array.from({ length: rooms }, (_, r) => [`bench room ${r + 1}`, users[r * roomSize].id]);
    const created = await insertRows<{ id: number; name: string }>(
      db,
      'INSERT INTO chatrooms (name, type, created_by_id)',
      (b) => `($${b + 1}, 'group', $${b + 2})`,
      roomRows,
    );
    const idByName = new Map(created.map((r) => [r.name, r.id]));
    const roomIds = roomRows.map(([name]) => idByName.get(name as string) as number);
    const memberRows = users.map((u, i) => [
      roomIds[Math.floor(i / roomSize)],
      u.id,
      i % roomSize === 0 ? 'owner' : 'member',
    ]);
    await insertRows(
      db,
      'INSERT INTO chatroom_members (chatroom_id, user_id, role)',
      (b) => `($${b + 1}, $${b + 2}, $${b + 3}::"MemberRole")`,
      memberRows,
    );
    return { users: users.map((u) => ({ id: u.id, username: u.username })), roomIds };
  } finally {
    await db.end();
  }
}

/** Room (0-based, over all layers) of the user at index `i` in layer `j` (see fleetLayout). */
export function fleetRoomIndex(
  i: number,
  j: number,
  sockets: number,
  roomSize: number,
  roomsPerSocket: number,
): number {
  const perLayer = sockets / roomSize;
  const shift = Math.floor((j * roomSize) / roomsPerSocket);
  return j * perLayer + Math.floor(((i + shift) % sockets) / roomSize);
}

/**
 * idle / reconnect: `sockets` users, and `roomsPerSocket` layers of rooms of `roomSize`, each
 * layer partitioning every user (shifted, so two layers group different neighbours). One
 * set-based statement per table, however many users: the same formula as fleetRoomIndex.
 * Returns user ids (in username order) and room ids (in name order).
 */
export async function seedFleet(
  url: string,
  sockets: number,
  roomSize: number,
  roomsPerSocket: number,
): Promise<{ userIds: number[]; roomIds: number[] }> {
  const db = new Client({ connectionString: url });
  await db.connect();
  const perLayer = sockets / roomSize;
  try {
    const users = await db.query<{ id: number }>(
      `INSERT INTO users (username, password_hash, nick_name, updated_at)
       SELECT 'bench_u' || lpad(i::text, 6, '0'), 'bench-no-login', 'Bench ' || i, now()
         FROM generate_series(1, $1::int) i
       RETURNING id`,
      [sockets],
    );
    const rooms = await db.query<{ id: number }>(
      `INSERT INTO chatrooms (name, type)
       SELECT 'bench room ' || lpad(r::text, 6, '0'), 'group' FROM generate_series(1, $1::int) r
       RETURNING id`,
      [perLayer * roomsPerSocket],
    );
    await db.query(
      `INSERT INTO chatroom_members (chatroom_id, user_id)
       SELECT r.id, u.id
         FROM (SELECT id, row_number() OVER (ORDER BY username) - 1 AS i FROM users) u
        CROSS JOIN generate_series(0, $4::int - 1) j
         JOIN (SELECT id, row_number() OVER (ORDER BY name) - 1 AS k FROM chatrooms) r
           ON r.k = j * $1::int + ((u.i + (j * $2::int) / $4::int) % $3::int) / $2::int`,
      [perLayer, roomSize, sockets, roomsPerSocket],
    );
    const userIds = (await db.query<{ id: number }>('SELECT id FROM users ORDER BY username')).rows.map((r) => r.id);
    const roomIds = (await db.query<{ id: number }>('SELECT id FROM chatrooms ORDER BY name')).rows.map((r) => r.id);
    if (users.rowCount !== sockets || rooms.rowCount !== roomIds.length) throw new Error('fleet seed: short insert');
    await db.query('ANALYZE');
    return { userIds, roomIds };
  } finally {
    await db.end();
  }
}
