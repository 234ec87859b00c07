/**
 * `npm run bench:explain`: the database side of the hot read queries at scale. Seeds a
 * separate database (chat_bench_explain) with 1,000 users, 1,000 rooms and 1,000,000
 * messages in set-based SQL (about a minute), then prints EXPLAIN (ANALYZE, BUFFERS) of the
 * queries the server runs, as the server sends them, each run warm (best of 5).
 * Database only: no server, no Redis. Re-running reuses the seeded data (--reseed to redo).
 */
import { Client } from 'pg';
import { resetDatabase } from './setup';

const URL_ = process.env.BENCH_EXPLAIN_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/chat_bench_explain';
const USERS = 1000;
const ROOMS = 1000;
const MESSAGES = 1_000_000;
const ROOM_SIZE = 10;

async function seed(c: Client): Promise<void> {
  const t0 = Date.now();
  await c.query(`INSERT INTO users (username, password_hash, nick_name, updated_at)
                 SELECT 'u' || i, 'x', 'User ' || i, now() FROM generate_series(1, ${USERS}) i`);
  await c.query(`INSERT INTO chatrooms (name, type, last_seq, last_message_at)
                 SELECT 'room ' || i, 'group', ${MESSAGES / ROOMS}, now() FROM generate_series(1, ${ROOMS}) i`);
  // Room r has users r .. r+9 (wrapping), so every user is in 10 rooms.
  await c.query(`INSERT INTO chatroom_members (chatroom_id, user_id, role)
                 SELECT r, ((r + k - 1) % ${USERS}) + 1, CASE WHEN k = 0 THEN 'owner' ELSE 'member' END::"MemberRole"
                   FROM generate_series(1, ${ROOMS}) r, generate_series(0, ${ROOM_SIZE - 1}) k`);
  // Messages round-robin over rooms; seq counts up per room; senders are the room's members.
  await c.query(`INSERT INTO messages (id, chatroom_id, seq, sender_id, type, content, created_at)
                 SELECT gen_random_uuid(), (i % ${ROOMS}) + 1, (i / ${ROOMS}) + 1,
                        (((i % ${ROOMS}) + (i % ${ROOM_SIZE})) % ${USERS}) + 1, 'text',
                        'message number ' || i || ' with some ordinary chat text in it',
                        now() - make_interval(secs => ${MESSAGES} - i)
                   FROM generate_series(0, ${MESSAGES - 1}) i`);
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

export const QUERIES: { name: string; sql: string; params: unknown[] }[] = [
  { name: 'history page of 50 (newest)', sql: HISTORY_PAGE, params: [500, 2_147_483_647, 51] },
  { name: 'history page of 50 (deep: before seq 300)', sql: HISTORY_PAGE, params: [500, 300, 51] },
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

async function main(): Promise<void> {
  const reseed = process.argv.includes('--reseed');
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
    for (const q of QUERIES) await explain(db, q);
  } finally {
    await db.end();
  }
}

if (require.main === module) {
  main().catch((err: Error) => {
    console.error(`bench:explain failed: ${err.message}`);
    process.exit(1);
  });
}
