/**
 * `npm run bench:reads`: the read paths at scale. Seeds a separate database
 * (chat_bench_reads) with 1,000 users, 1,000 rooms and 1,000,000 messages in set-based SQL
 * (about a minute; reused on later runs, --reseed to redo). User 1 is in 200 rooms and room
 * 1000 has all 1,000 users. Then:
 *  1. EXPLAIN (ANALYZE, BUFFERS) of the hot queries exactly as the server sends them (best of 5);
 *  2. HTTP latency of GET /inbox, POST /inbox/read (1,000-member room) and a history page,
 *     against the real server, next to GET /health on the same server as the in-run baseline.
 */
import { Client } from 'pg';
import { EXCLUDED_SQL } from '../src/inbox/read-state.service';
import { resetDatabase } from './setup';
import { measureHttp } from './read-paths-http';

const URL_ = process.env.BENCH_READS_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/chat_bench_reads';
const USERS = 1000;
const ROOMS = 1000;
/**
 * BENCH_READS_MESSAGES: 1,000,000 for the figures; the smoke test seeds 50,000 (at least 50 a
 * room: the seeded read state sits up to 23 past each room's middle).
 */
const MESSAGES = Number(process.env.BENCH_READS_MESSAGES ?? 1_000_000);
const PER_ROOM = MESSAGES / ROOMS;
const ROOM_SIZE = 10;

async function seed(c: Client): Promise<void> {
  const t0 = Date.now();
  await c.query(`INSERT INTO users (username, password_hash, nick_name, updated_at)
                 SELECT 'u' || i, 'x', 'User ' || i, now() FROM generate_series(1, ${USERS}) i`);
  await c.query(`INSERT INTO chatrooms (name, type, last_seq, last_message_at)
                 SELECT 'room ' || i, 'group', ${PER_ROOM}, now() FROM generate_series(1, ${ROOMS}) i`);
  // Room r has users r .. r+9 (wrapping), so every user is in 10 rooms.
  await c.query(`INSERT INTO chatroom_members (chatroom_id, user_id, role)
                 SELECT r, ((r + k - 1) % ${USERS}) + 1, CASE WHEN k = 0 THEN 'owner' ELSE 'member' END::"MemberRole"
                   FROM generate_series(1, ${ROOMS}) r, generate_series(0, ${ROOM_SIZE - 1}) k`);
  // User 1 is in 200 rooms (1..200); room 1000 has every user (a large group).
  await c.query(`INSERT INTO chatroom_members (chatroom_id, user_id) SELECT r, 1 FROM generate_series(1, 200) r
                 ON CONFLICT DO NOTHING`);
  await c.query(`INSERT INTO chatroom_members (chatroom_id, user_id) SELECT ${ROOMS}, u FROM generate_series(1, ${USERS}) u
                 ON CONFLICT DO NOTHING`);
  // Some read state, as a live system has: every member read half of each room, a few read
  // out of order, a few hid something, one in a hundred messages was retracted.
  await c.query(`UPDATE chatroom_members SET read_seq = ${PER_ROOM / 2}`);
  // Messages round-robin over rooms; seq counts up per room; senders are the room's members.
  await c.query(`INSERT INTO messages (id, chatroom_id, seq, sender_id, type, content, created_at)
                 SELECT gen_random_uuid(), (i % ${ROOMS}) + 1, (i / ${ROOMS}) + 1,
                        (((i % ${ROOMS}) + (i % ${ROOM_SIZE})) % ${USERS}) + 1, 'text',
                        'message number ' || i || ' with some ordinary chat text in it',
                        now() - make_interval(secs => ${MESSAGES} - i)
                   FROM generate_series(0, ${MESSAGES - 1}) i`);
  await c.query(`UPDATE messages SET deleted_at = created_at, content = '' WHERE seq % 100 = 0`);
  await c.query(`INSERT INTO message_reads (user_id, chatroom_id, seq)
                 SELECT 1, r, ${PER_ROOM / 2} + 10 + k FROM generate_series(1, 200) r, generate_series(1, 5) k`);
  await c.query(`INSERT INTO message_hidden (user_id, chatroom_id, seq)
                 SELECT 1, r, ${PER_ROOM / 2} + 20 + k FROM generate_series(1, 200) r, generate_series(1, 3) k`);
  await c.query('VACUUM ANALYZE');
  console.log(`seeded ${MESSAGES} messages in ${ROOMS} rooms in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}

/** The history page exactly as MessageRepository.pageBefore sends it (newest page of room 500). */
const HISTORY_PAGE = `
  SELECT m.id, m.chatroom_id AS "chatroomId", m.seq, m.sender_id AS "senderId", m.type::text AS type,
         m.content, m.client_msg_id AS "clientMsgId", m.created_at AS "createdAt",
         m.edited_at AS "editedAt", m.deleted_at AS "deletedAt",
         json_build_object('id', u.id, 'username', u.username, 'nickName', u.nick_name, 'headPic', u.head_pic) AS sender
    FROM messages m
    JOIN users u ON u.id = m.sender_id
   WHERE m.chatroom_id = $1 AND m.seq < $2
   ORDER BY m.seq DESC LIMIT $3`;

/** The unread sets are measured with the server's own statement (ReadStateService). */
const UNREAD_EXCLUDED = EXCLUDED_SQL;

const USER_ROOMS = Array.from({ length: 200 }, (_, i) => i + 1);

export const QUERIES: { name: string; sql: string; params: unknown[] }[] = [
  { name: 'history page of 50 (newest)', sql: HISTORY_PAGE, params: [500, 2_147_483_647, 51] },
  { name: 'history page of 50 (deep: before seq 300)', sql: HISTORY_PAGE, params: [500, 300, 51] },
  {
    name: 'unread set of one room (what a mark-read recounts; the others come from the cache)',
    sql: UNREAD_EXCLUDED,
    params: [1, [1000], [PER_ROOM / 2]],
  },
  {
    name: "unread sets of a user's 200 rooms, 500 unread each (a full recount: nothing cached)",
    sql: UNREAD_EXCLUDED,
    params: [1, USER_ROOMS, USER_ROOMS.map(() => PER_ROOM / 2)],
  },
];

async function explain(c: Client, q: (typeof QUERIES)[number]): Promise<void> {
  let best: { ms: number; plan: string } | undefined;
  for (let i = 0; i < 5; i++) {
    const res = await c.query(`EXPLAIN (ANALYZE, BUFFERS) ${q.sql}`, q.params);
    const plan = res.rows.map((r: Record<string, string>) => r['QUERY PLAN']).join('\n');
    const ms = Number(/Execution Time: ([\d.]+) ms/.exec(plan)?.[1] ?? NaN);
    if (!best || ms < best.ms) best = { ms, plan };
  }
  console.log(`\n=== ${q.name}: ${best!.ms} ms (best of 5)\n${best!.plan}`);
}

/** Flags: --reseed, --sql-only, --http-only. */
export async function runReads(argv: string[]): Promise<void> {
  const unknown = argv.filter((a) => !['--reseed', '--sql-only', '--http-only'].includes(a));
  if (unknown.length) throw new Error(`unknown option ${unknown[0]} (reads takes --reseed, --sql-only, --http-only)`);
  if (!Number.isInteger(PER_ROOM) || PER_ROOM < 50 || PER_ROOM % 2) {
    throw new Error(`BENCH_READS_MESSAGES must be a multiple of ${2 * ROOMS}, at least ${50 * ROOMS}`);
  }
  const reseed = argv.includes('--reseed');
  const c = new Client({ connectionString: URL_ });
  let seeded = false;
  try {
    await c.connect();
    const n = await c.query('SELECT count(*)::int AS n FROM messages');
    seeded = n.rows[0].n === MESSAGES;
    await c.end();
  } catch {
    /* missing database: seed below */
  }
  if (reseed || !seeded) await resetDatabase(URL_, process.cwd());
  const db = new Client({ connectionString: URL_ });
  await db.connect();
  try {
    if (reseed || !seeded) await seed(db);
    if (!argv.includes('--http-only')) for (const q of QUERIES) await explain(db, q);
  } finally {
    await db.end();
  }
  if (!argv.includes('--sql-only')) await measureHttp(URL_, PER_ROOM);
}

if (require.main === module) {
  runReads(process.argv.slice(2)).catch((err: Error) => {
    console.error(`bench:reads failed: ${err.message}`);
    process.exit(1);
  });
}
