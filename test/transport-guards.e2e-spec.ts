import { connect as tcpConnect, type Socket as TcpSocket } from 'node:net';
import WebSocket from 'ws';
import { eventually, resetState, sql, startApp, TestApp } from './utils/app';
import { parseMetrics, valueOf } from './utils/metrics';
import { closeAllSockets, connect, emitAck, sleep } from './utils/sockets';
import { createRoom, createUser, TestUser } from './utils/users';

const send = (chatroomId: number, content: string) => ({ chatroomId, message: { type: 'text', content } });
const syncAll = (chatroomId: number) => ({ rooms: [{ chatroomId, afterSeq: 0 }], limit: 500 });
const metric = async (t: TestApp, name: string) => valueOf(parseMetrics((await t.http().get('/metrics')).text), name);

/** A long-polling GET on a connection of its own, as hostile clients send it. */
interface RawPoll {
  socket: TcpSocket;
  /** The status line, or 'reset' / 'closed' if the connection ended before any answer. */
  status: string;
  /** The answer's Content-Length, and how many bytes of the whole response arrived. */
  length: number;
  received: number;
  /** Resolves once the connection has ended (reset or closed), for however it ended. */
  ended: Promise<void>;
}

/** Sends a poll and stops reading as soon as the first bytes of its answer arrive. */
function pollWithoutReading(t: TestApp, sid: string): Promise<RawPoll> {
  const { port } = new URL(t.url);
  return new Promise((resolve) => {
    const socket = tcpConnect(Number(port), '127.0.0.1');
    let ended!: () => void;
    const poll: RawPoll = { socket, status: '', length: 0, received: 0, ended: new Promise((r) => (ended = r)) };
    socket.on('error', (e: NodeJS.ErrnoException) => {
      poll.status ||= e.code === 'ECONNRESET' ? 'reset' : e.code!;
      resolve(poll);
    });
    socket.on('close', () => {
      poll.status ||= 'closed';
      ended();
      resolve(poll);
    });
    socket.on('data', (chunk: Buffer) => {
      poll.received += chunk.length;
      if (poll.status) return;
      const head = chunk.toString('latin1');
      poll.status = head.split('\r\n')[0];
      poll.length = Number(/content-length: (\d+)/i.exec(head)?.[1] ?? 0);
      socket.pause();
      resolve(poll);
    });
    socket.write(`GET /socket.io/?EIO=4&transport=polling&sid=${sid} HTTP/1.1\r\nHost: x\r\n\r\n`);
  });
}

/** An engine.io long-polling session with a socket.io connection for `user`. */
async function pollingSession(t: TestApp, user: TestUser): Promise<string> {
  const handshake = await (await fetch(`${t.url}/socket.io/?EIO=4&transport=polling`)).text();
  const { sid } = JSON.parse(handshake.slice(1)) as { sid: string };
  await postPacket(t, sid, `40${JSON.stringify({ token: user.token })}`);
  expect(await (await fetch(pollUrl(t, sid))).text()).toMatch(/^40/);
  return sid;
}

const pollUrl = (t: TestApp, sid: string) => `${t.url}/socket.io/?EIO=4&transport=polling&sid=${sid}`;
const postPacket = async (t: TestApp, sid: string, body: string) =>
  (await fetch(pollUrl(t, sid), { method: 'POST', body })).status;

/**
 * Long-polling answers a client never reads: engine.io hands each poll the session's whole
 * output, so a client polling on new connections and reading none emptied the session's
 * write buffer into sockets nobody counted, and those stayed open for good.
 */
describe('long-polling answers left unread (e2e)', () => {
  let t: TestApp;
  let user: TestUser;
  let room: number;

  beforeAll(async () => {
    await resetState();
    t = await startApp({ WS_MAX_UNREAD_BYTES: String(1024 * 1024) });
    user = await createUser(t, 'poller');
    room = await createRoom(t, user);
    // A sync answer of 6 MB, more than loopback's kernel buffers take from a client that does
    // not read (about 4 MB here). Answers are cut by size (page-size.ts) but always hold a
    // room's next message, so one message of 2,000,000 '€' (3 bytes each) written in SQL
    // makes one: no client could send it (MESSAGE_MAX_LENGTH).
    await sql(
      `INSERT INTO messages (id, chatroom_id, seq, sender_id, type, content, created_at)
       VALUES (gen_random_uuid(), $1, 1, $2, 'text', repeat('€', 2000000), now())`,
      [room, user.id],
    );
    await sql('UPDATE chatrooms SET last_seq = 1 WHERE id = $1', [room]);
  });
  afterAll(async () => {
    closeAllSockets();
    await t.close();
  });

  /** A session whose sync answer sits, unread, in a poll's connection. */
  async function unreadSyncAnswer(): Promise<{ sid: string; poll: RawPoll }> {
    const sid = await pollingSession(t, user);
    expect(await postPacket(t, sid, `421${JSON.stringify(['sync', syncAll(room)])}`)).toBe(200);
    const poll = await pollWithoutReading(t, sid);
    expect(poll.status).toBe('HTTP/1.1 200 OK');
    expect(poll.length).toBeGreaterThan(6_000_000);
    return { sid, poll };
  }

  /** Reads the rest of what reaches the client: less than the whole answer if its connection was reset. */
  async function drain(poll: RawPoll): Promise<number> {
    poll.socket.resume();
    await poll.ended;
    return poll.received;
  }

  it('cuts a session whose client polls again on a new connection without reading the last answer', async () => {
    const cuts = await metric(t, 'chat_slow_consumer_disconnects_total');
    const { sid, poll } = await unreadSyncAnswer();
    const again = await pollWithoutReading(t, sid);
    expect(again.status).toBe('reset');
    expect(await drain(poll)).toBeLessThan(poll.length); // the unread answer was dropped, not kept
    expect(await metric(t, 'chat_slow_consumer_disconnects_total')).toBe(cuts + 1);
    expect((await fetch(pollUrl(t, sid))).status).toBe(400); // the session is gone
  });

  it('counts an unread answer as unread output: over WS_MAX_UNREAD_BYTES the session is cut', async () => {
    const cuts = await metric(t, 'chat_slow_consumer_disconnects_total');
    const { sid, poll } = await unreadSyncAnswer();
    await eventually(
      async () => (await metric(t, 'chat_slow_consumer_disconnects_total')) === cuts + 1,
      10_000,
      'a cut',
    );
    expect(await drain(poll)).toBeLessThan(poll.length);
    expect((await fetch(pollUrl(t, sid))).status).toBe(400);
  });

  it('resets the connection of an unread answer when its session closes', async () => {
    const { sid, poll } = await unreadSyncAnswer();
    expect(await postPacket(t, sid, '1')).toBe(200); // the client closes its session
    expect(await drain(poll)).toBeLessThan(poll.length);
  });

  it('leaves a client that reads its answers alone', async () => {
    const sid = await pollingSession(t, user);
    for (let i = 0; i < 3; i++) {
      expect(await postPacket(t, sid, `42${i}${JSON.stringify(['sync', syncAll(room)])}`)).toBe(200);
      const answer = await (await fetch(pollUrl(t, sid))).text();
      expect(answer.startsWith(`43${i}[{"ok":true`)).toBe(true);
    }
  });
});

describe('engine.io requests (e2e)', () => {
  let t: TestApp;
  let user: TestUser;

  beforeAll(async () => {
    await resetState();
    t = await startApp();
    user = await createUser(t, 'methods');
  });
  afterAll(async () => {
    closeAllSockets();
    await t.close();
  });

  it('answers a method engine.io does not serve with 405, Allow and the error body; the session lives on', async () => {
    const sid = await pollingSession(t, user);
    for (const method of ['PUT', 'DELETE', 'PATCH', 'PROPFIND']) {
      const res = await fetch(pollUrl(t, sid), { method });
      expect(res.status).toBe(405);
      expect(res.headers.get('allow')).toBe('GET, POST, OPTIONS');
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      expect(await res.json()).toEqual({ statusCode: 405, code: 'VALIDATION_FAILED', message: expect.any(String) });
    }
    expect(await postPacket(t, sid, '421["noSuchEvent"]')).toBe(200);
    expect(await (await fetch(pollUrl(t, sid))).text()).toMatch(/^431/); // answered: the session is alive
    // The CORS preflight is still engine.io's.
    expect((await fetch(pollUrl(t, sid), { method: 'OPTIONS' })).status).toBe(204);
  });

  it("answers engine.io's own refusals in the API's error shape, with engine.io's message", async () => {
    const base = `${t.url}/socket.io/?EIO=4&transport=polling`;
    const cases: [string, string, number, string][] = [
      ['an unknown session', `${base}&sid=abc`, 400, 'Session ID unknown'],
      ['an unknown transport', `${t.url}/socket.io/?EIO=4&transport=carrier-pigeon`, 400, 'Transport unknown'],
      ['an old protocol', `${t.url}/socket.io/?EIO=3&transport=polling`, 400, 'Unsupported protocol version'],
    ];
    for (const [what, url, status, message] of cases) {
      const res = await fetch(url);
      expect([what, res.status]).toEqual([what, status]);
      expect([what, await res.json()]).toEqual([what, { statusCode: status, code: 'VALIDATION_FAILED', message }]);
    }
    // A session's own answers are untouched.
    const sid = await pollingSession(t, user);
    expect(await postPacket(t, sid, '421["noSuchEvent"]')).toBe(200);
    expect(await (await fetch(pollUrl(t, sid))).text()).toMatch(/^431/);
  });

  it("answers refused WebSocket upgrades in the API's error shape, with engine.io's or ws's message", async () => {
    const path = '/socket.io/?EIO=4&transport=websocket';
    const key = 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n';
    const cases: [string, string, string, string][] = [
      ['an unknown session', `${path}&sid=abc`, `${key}Sec-WebSocket-Version: 13\r\n`, 'Session ID unknown'],
      ['no key', path, 'Sec-WebSocket-Version: 13\r\n', 'Missing or invalid Sec-WebSocket-Key header'],
      // engine.io itself wrote this one into the WebSocket stream, after its 101.
      [
        'an old protocol',
        path.replace('EIO=4', 'EIO=3'),
        `${key}Sec-WebSocket-Version: 13\r\n`,
        'Unsupported protocol version',
      ],
      ['EIO=3 last of two', `${path}&EIO=3`, `${key}Sec-WebSocket-Version: 13\r\n`, 'Unsupported protocol version'],
      // The query as engine.io reads it: a fragment is no part of it (a probe got past with one).
      [
        'EIO=4 after a #',
        '/socket.io/?transport=websocket#&EIO=4',
        `${key}Sec-WebSocket-Version: 13\r\n`,
        'Unsupported protocol version',
      ],
      [
        'a sid after a #',
        '/socket.io/?EIO=3&transport=websocket#&sid=abc',
        `${key}Sec-WebSocket-Version: 13\r\n`,
        'Unsupported protocol version',
      ],
      [
        'an unknown version',
        path,
        `${key}Sec-WebSocket-Version: 7\r\n`,
        'Missing or invalid Sec-WebSocket-Version header',
      ],
    ];
    for (const [what, url, headers, message] of cases) {
      const answer = await rawUpgrade(t, url, headers);
      expect([what, answer.statusLine]).toEqual([what, 'HTTP/1.1 400 Bad Request']);
      expect([what, answer.headers['content-type']]).toEqual([what, 'application/json; charset=utf-8']);
      expect([what, JSON.parse(answer.body)]).toEqual([what, { statusCode: 400, code: 'VALIDATION_FAILED', message }]);
    }
    // ws's own headers stay (the versions it speaks).
    expect((await rawUpgrade(t, path, `${key}Sec-WebSocket-Version: 7\r\n`)).headers['sec-websocket-version']).toBe(
      '13, 8',
    );
    // An upgrade that succeeds is untouched: its 101, then a socket.io session over it.
    const ws = new WebSocket(`${t.url.replace('http', 'ws')}${path}`);
    const opened = await new Promise<string>((resolve, reject) => {
      ws.once('message', (data: Buffer) => resolve(data.toString()));
      ws.once('error', reject);
    });
    expect(opened).toMatch(/^0\{"sid":/);
    ws.close();
  });
});

/** A raw WebSocket upgrade request on a connection of its own; the answer as the server wrote it. */
function rawUpgrade(
  t: TestApp,
  path: string,
  headers: string,
): Promise<{ statusLine: string; headers: Record<string, string>; body: string }> {
  const { port } = new URL(t.url);
  return new Promise((resolve, reject) => {
    let text = '';
    const socket = tcpConnect(Number(port), '127.0.0.1', () =>
      socket.write(`GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n${headers}\r\n`),
    );
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (text += chunk));
    socket.on('error', reject);
    socket.setTimeout(5_000, () => socket.destroy());
    socket.on('close', () => {
      const end = text.indexOf('\r\n\r\n');
      const [statusLine, ...lines] = text.slice(0, end).split('\r\n');
      const parsed = Object.fromEntries(
        lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]),
      );
      resolve({ statusLine, headers: parsed, body: text.slice(end + 4) });
    });
  });
}

describe('WebSocket ping frames (e2e)', () => {
  let t: TestApp;
  let user: TestUser;
  let room: number;

  beforeAll(async () => {
    await resetState();
    t = await startApp();
    user = await createUser(t, 'victim');
    room = await createRoom(t, user);
  });
  afterAll(async () => {
    closeAllSockets();
    await t.close();
  });

  const wsUrl = (query = '') => `${t.url.replace('http', 'ws')}/socket.io/?EIO=4&transport=websocket${query}`;

  /** Pings as fast as it can until the server closes the connection; resolves with how many it sent. */
  async function flood(ws: WebSocket): Promise<number> {
    await new Promise((r) => ws.once('open', r));
    const closed = new Promise((r) => ws.once('close', r));
    let sent = 0;
    while (ws.readyState === WebSocket.OPEN) {
      for (let i = 0; i < 500; i++, sent++) ws.ping(Buffer.alloc(125, 1));
      await new Promise((r) => setImmediate(r));
    }
    await closed;
    return sent;
  }

  it('terminates a connection that floods pings without ever logging in; others keep working', async () => {
    const victim = await connect(t.url, user.token);
    const cuts = await metric(t, 'chat_flood_disconnects_total');
    await flood(new WebSocket(wsUrl()));
    expect(await metric(t, 'chat_flood_disconnects_total')).toBe(cuts + 1);
    expect((await emitAck(victim, 'sendMessage', send(room, 'still here'))).ok).toBe(true);
  });

  it('counts pings on a WebSocket that upgrades a polling session, before its probe', async () => {
    const handshake = await (await fetch(`${t.url}/socket.io/?EIO=4&transport=polling`)).text();
    const { sid } = JSON.parse(handshake.slice(1)) as { sid: string };
    const cuts = await metric(t, 'chat_flood_disconnects_total');
    await flood(new WebSocket(wsUrl(`&sid=${sid}`)));
    expect(await metric(t, 'chat_flood_disconnects_total')).toBe(cuts + 1);
  });

  it("cuts a connection that floods engine.io's own packets (pong frames) without ever logging in", async () => {
    const victim = await connect(t.url, user.token);
    const cuts = await metric(t, 'chat_flood_disconnects_total');
    const ws = new WebSocket(wsUrl());
    await new Promise((r) => ws.once('open', r));
    const closed = new Promise((r) => ws.once('close', r));
    // engine.io's pong, below socket.io's event budget; 20,000 is far past the packet budget.
    for (let sent = 0; ws.readyState === WebSocket.OPEN && sent < 20_000; sent += 500) {
      for (let i = 0; i < 500; i++) ws.send('3');
      await new Promise((r) => setImmediate(r));
    }
    await Promise.race([closed, sleep(10_000)]); // the server may still be reading the frames
    expect(ws.readyState).toBe(WebSocket.CLOSED);
    expect(await metric(t, 'chat_flood_disconnects_total')).toBe(cuts + 1);
    expect((await emitAck(victim, 'sendMessage', send(room, 'still here'))).ok).toBe(true);
  });

  it('answers the few pings of a keep-alive', async () => {
    const ws = new WebSocket(wsUrl());
    await new Promise((r) => ws.once('open', r));
    let pongs = 0;
    ws.on('pong', () => pongs++);
    for (let i = 0; i < 10; i++) ws.ping();
    await eventually(() => pongs === 10, 5000, 'ten pongs');
    expect(ws.readyState).toBe(WebSocket.OPEN);
    ws.terminate();
  });
});
