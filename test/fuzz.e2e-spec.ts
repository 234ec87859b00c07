import { ERROR_CODES } from '@chat-backend/protocol';
import http from 'node:http';
import path from 'node:path';
import type { Socket } from 'socket.io-client';
import { ChatGateway } from '../src/chat/chat.gateway';
import { resetState, sql, startApp, TestApp } from './utils/app';
import {
  BAD_PATH_VALUES,
  badQueryValues,
  badValues,
  Ctx,
  deepObject,
  fieldPaths,
  mutate,
  payloadCases,
  prng,
  randomJson,
  Rng,
  toJson,
  validObject,
  validValue,
  WS_FRAME_ROOM,
} from './utils/fuzz-cases';
import { eventsOf, Field, loadDtoClasses, OpenApiDoc, Param, Route, routesOf } from './utils/fuzz-model';
import { closeAllSockets, connect, emitAck, waitFor } from './utils/sockets';
import { auth, createRoom, createUser, TestUser } from './utils/users';

/**
 * Schemathesis-style fuzzing of every REST route (from the running app's /docs-json) and
 * every socket event (from the gateway's @OnClientEvent handlers and DTO metadata):
 * each field missing, of the wrong type, at and past each bound, hostile text, deep nesting,
 * prototype keys, plus seeded random JSON. No input may produce a 5xx or an INTERNAL ack,
 * every refusal has the contract's error shape, and normal traffic works afterwards.
 * FUZZ_SEED=<n> replays a run.
 */
const SEED = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
const HTTP_TARGET = Number(process.env.FUZZ_HTTP ?? 5_200);
const WS_TARGET = Number(process.env.FUZZ_WS ?? 2_200);
const HTTP_CONCURRENCY = 8;
const WS_SOCKETS = 4;
const WS_IN_FLIGHT = 4;
/** Every contract error code a refusal may carry: all of them but INTERNAL. */
const CODES: string[] = ERROR_CODES.filter((c) => c !== 'INTERNAL');
// Not 'connect', 'disconnect' etc.: socket.io's parser treats those as a protocol violation and
// closes the connection, by design.
const UNKNOWN_EVENTS = ['noSuchEvent', 'message', 'exception', '__proto__', 'constructor', 'sendmessage', '\u0000', ''];

interface HttpCase {
  method: string;
  url: string;
  body?: string;
  token?: string;
  label: string;
}
interface WsCase {
  event: string;
  args: unknown[];
  ack: boolean;
}

jest.setTimeout(600_000);

describe('fuzz: every route and event, generated from the OpenAPI document and DTO metadata (e2e)', () => {
  let t: TestApp;
  let agent: http.Agent;
  afterAll(async () => {
    closeAllSockets();
    agent?.destroy();
    await t?.close();
  });

  it('answers hostile input with contract errors only, and keeps serving normal traffic', async () => {
    console.log(`fuzz seed ${SEED} (replay: FUZZ_SEED=${SEED})`);
    await resetState();
    // Budgets out of the way: this suite is about what validation answers, not about limits.
    t = await startApp({
      SEND_RATE_PER_SEC: '100000',
      SEND_BURST: '100000',
      SOCKET_EVENT_RATE_PER_SEC: '100000',
      SOCKET_EVENT_BURST: '100000',
      SOCKET_TYPING_RATE_PER_SEC: '100000',
      SOCKET_TYPING_BURST: '100000',
      USER_SOCKET_EVENT_RATE_PER_SEC: '100000',
      USER_SOCKET_EVENT_BURST: '100000',
      USER_SOCKET_TYPING_RATE_PER_SEC: '100000',
      USER_SOCKET_TYPING_BURST: '100000',
    });
    agent = new http.Agent({ keepAlive: true, maxSockets: HTTP_CONCURRENCY });
    const r = prng(SEED);

    // Low ids go to bystanders: a fuzzed path value like "1" must not hit the fixtures.
    for (let i = 0; i < 3; i++) await createUser(t, 'bystander');
    const [user, other, admin, sacrificial, finalA, finalB] = await Promise.all(
      ['fz_user', 'fz_other', 'fz_admin', 'fz_sacrifice', 'fz_final_a', 'fz_final_b'].map((n) => createUser(t, n)),
    );
    await sql("UPDATE users SET role = 'admin' WHERE id = $1", [admin.id]);
    const roomId = await createRoom(t, user, [other]);
    const finalRoom = await createRoom(t, finalA, [finalB]);
    const s0 = await connect(t.url, user.token);
    await emitAck(s0, 'joinRoom', { chatroomId: roomId });
    const first = await emitAck(s0, 'sendMessage', { chatroomId: roomId, message: { type: 'text', content: 'seed' } });
    let n = 0;
    const ctx: Ctx = {
      roomId,
      userId: user.id,
      otherId: other.id,
      messageId: first.data.id,
      seq: 1,
      unique: () => `${SEED % 100000}_${++n}`,
    };

    const doc = (await (await fetch(`${t.url}/docs-json`)).json()) as OpenApiDoc;
    const routes = routesOf(doc, loadDtoClasses(path.join(__dirname, '..', 'src')));
    const events = eventsOf(ChatGateway);
    expect(routes.length).toBeGreaterThan(20);
    expect(events.map((e) => e.event).sort()).toEqual([
      'joinRoom',
      'leaveRoom',
      'markRead',
      'sendMessage',
      'sync',
      'typing',
    ]);

    const tokens = { user: user.token, admin: admin.token, sacrificial: sacrificial.token };
    const httpCases = generateHttpCases(routes, ctx, r, tokens);
    const wsCases = generateWsCases(events, ctx, r);

    // ---- REST ----
    const started = Date.now();
    const statuses = new Map<number, number>();
    const httpFailures: string[] = [];
    await pool(httpCases, HTTP_CONCURRENCY, async (c) => {
      // A reset connection counts as status 0 and a failure, and the run goes on.
      const res = await send(agent, t.url, c).catch((e: Error) => ({ status: 0, body: e.message }));
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      const problem = checkHttp(res.status, res.body);
      if (problem) httpFailures.push(`${c.label}: ${c.method} ${c.url.slice(0, 200)} → ${res.status} ${problem}`);
    });
    const httpMs = Date.now() - started;
    console.log(`HTTP phase: ${httpCases.length} requests in ${httpMs} ms`);

    // ---- socket.io ----
    const exceptions: { code?: string }[] = [];
    const disconnects: string[] = [];
    const lastFrame = new Map<Socket, string>();
    const open = async () => {
      const s = await connect(t.url, user.token);
      s.on('exception', (e: { code?: string }) => exceptions.push(e));
      s.on('disconnect', (why) => disconnects.push(`${why} after ${lastFrame.get(s)?.slice(0, 200)}`));
      return s;
    };
    const sockets = await Promise.all(Array.from({ length: WS_SOCKETS }, open));
    const wsStarted = Date.now();
    const ackCodes = new Map<string, number>();
    const wsFailures: string[] = [];
    let nextId = 1_000_000;
    await pool(wsCases, WS_SOCKETS * WS_IN_FLIGHT, async (c, i) => {
      // A socket the server closed is reported (disconnects) and replaced, so one bad frame
      // cannot turn every later case into a timeout.
      if (!sockets[i % WS_SOCKETS].connected) sockets[i % WS_SOCKETS] = await open();
      const s = sockets[i % WS_SOCKETS];
      lastFrame.set(s, `${c.event} ${toJson(c.args)}`);
      const known = events.some((e) => e.event === c.event);
      if (!c.ack || !known) {
        writeFrame(s, c, undefined);
        ackCodes.set('(no ack)', (ackCodes.get('(no ack)') ?? 0) + 1);
        return;
      }
      const ack = await new Promise<unknown>((resolve) => {
        const timer = setTimeout(() => resolve('timeout'), 5_000);
        writeFrame(s, c, nextId++, (a) => {
          clearTimeout(timer);
          resolve(a);
        });
      });
      const problem = checkAck(ack);
      const a = ack as { ok?: boolean; error?: { code?: string } } | undefined;
      const key = a?.ok === true ? 'ok' : (a?.error?.code ?? 'malformed');
      ackCodes.set(key, (ackCodes.get(key) ?? 0) + 1);
      if (problem)
        wsFailures.push(
          `${c.event} ${toJson(c.args).slice(0, 200)} → ${problem}: ${JSON.stringify(ack)?.slice(0, 200)}`,
        );
    });
    await new Promise((res) => setTimeout(res, 300)); // let late `exception` events arrive
    const wsMs = Date.now() - wsStarted;

    const exceptionCodes = new Map<string, number>();
    for (const e of exceptions) exceptionCodes.set(String(e.code), (exceptionCodes.get(String(e.code)) ?? 0) + 1);
    const fiveXX = [...statuses].filter(([s]) => s >= 500 || s === 0).reduce((a, [, k]) => a + k, 0);
    const internal = (ackCodes.get('INTERNAL') ?? 0) + (exceptionCodes.get('INTERNAL') ?? 0);
    console.log(
      [
        `fuzz seed ${SEED}`,
        `HTTP: ${httpCases.length} requests over ${routes.length} routes in ${(httpMs / 1000).toFixed(1)} s; status ${fmt(statuses)}; 5xx or no response: ${fiveXX}`,
        `socket: ${wsCases.length} payloads over ${events.length} events (+ unknown names) in ${(wsMs / 1000).toFixed(1)} s; acks ${fmt(ackCodes)}; exception events ${fmt(exceptionCodes)}; INTERNAL: ${internal}`,
      ].join('\n'),
    );

    expect(httpFailures.slice(0, 20)).toEqual([]);
    expect(wsFailures.slice(0, 20)).toEqual([]);
    expect(fiveXX).toBe(0);
    expect(internal).toBe(0);
    expect(httpCases.length).toBeGreaterThanOrEqual(Math.min(HTTP_TARGET, 5_000));
    expect(wsCases.length).toBeGreaterThanOrEqual(Math.min(WS_TARGET, 2_000));
    expect(disconnects).toEqual([]);

    // ---- normal traffic afterwards: send, ack, broadcast, stored; REST answers ----
    await expectNormalTraffic(t, finalA, finalB, finalRoom);
  });
});

function generateHttpCases(routes: Route[], ctx: Ctx, r: Rng, tokens: Record<string, string>): HttpCase[] {
  const cases: HttpCase[] = [];
  const bases = routes.map((route) => baseRequest(route, ctx, tokens));
  routes.forEach((route, i) => {
    const base = bases[i];
    cases.push({ ...base, label: 'valid' });
    cases.push(
      { ...base, token: undefined, label: 'no token' },
      { ...base, token: 'garbage.token.x', label: 'bad token' },
    );
    for (const p of route.params.filter((x) => x.in === 'path'))
      for (const v of BAD_PATH_VALUES)
        cases.push({
          ...base,
          url: withPath(route, ctx, { [p.name]: v }) + queryOf(base.url),
          label: `path ${p.name}`,
        });
    for (const p of route.params.filter((x) => x.in === 'query')) {
      const values = badQueryValues(p).map((v) => `${p.name}=${v}`);
      values.push(`${p.name}=1&${p.name}=2`, `${p.name}[a]=1`, `${p.name}[]=1`, `${p.name}[__proto__][x]=1`);
      if (p.required) values.push('');
      for (const q of values) cases.push({ ...base, url: withQuery(base.url, p, q), label: `query ${p.name}` });
    }
    for (const q of ['zz=1', '__proto__=1', 'constructor[prototype][x]=1', '%00=1'])
      cases.push({ ...base, url: `${base.url}${base.url.includes('?') ? '&' : '?'}${q}`, label: 'query extra' });
    if (route.body)
      for (const b of payloadCases(route.body, ctx, false)) cases.push({ ...base, body: toJson(b), label: 'body' });
    else if (route.method !== 'GET')
      for (const body of [toJson(deepObject(20_000)), '{"__proto__":1}', '"x"'])
        cases.push({ ...base, body, label: 'stray body' });
  });
  // Random top-up: several mutations of a random route at once, or random JSON. Routes that
  // hash a password get only the systematic cases: each well-formed one costs ~100 ms of scrypt.
  const cheap = routes.map((_, i) => i).filter((i) => !routes[i].body?.some((f) => /password/i.test(f.name)));
  while (cases.length < HTTP_TARGET) {
    const i = r.pick(cheap);
    const route = routes[i];
    let c: HttpCase = { ...bases[i], label: 'random' };
    let body: unknown = route.body ? validObject(route.body, ctx) : undefined;
    const params = route.params;
    for (let k = 1 + r.int(3); k > 0; k--) {
      const roll = r.rnd();
      if (roll < 0.25 && params.some((p) => p.in === 'path')) {
        const p = r.pick(params.filter((x) => x.in === 'path'));
        c = { ...c, url: withPath(route, ctx, { [p.name]: r.pick(BAD_PATH_VALUES) }) + queryOf(c.url) };
      } else if (roll < 0.5 && params.some((p) => p.in === 'query')) {
        const p = r.pick(params.filter((x) => x.in === 'query'));
        c = { ...c, url: withQuery(c.url, p, `${p.name}=${r.pick(badQueryValues(p))}`) };
      } else if (route.body) {
        body = randomBody(route.body, ctx, r, body);
      }
    }
    if (route.body) c.body = toJson(body);
    cases.push(c);
  }
  return cases;
}

function generateWsCases(events: { event: string; fields: Field[] }[], ctx: Ctx, r: Rng): WsCase[] {
  const cases: WsCase[] = [];
  for (const { event, fields } of events) {
    for (const p of payloadCases(fields, ctx, true)) cases.push({ event, args: [p], ack: true });
    cases.push({ event, args: [], ack: true }, { event, args: [validObject(fields, ctx), 'extra', 1], ack: true });
  }
  for (const event of UNKNOWN_EVENTS) cases.push({ event, args: [{ chatroomId: ctx.roomId }], ack: true });
  while (cases.length < WS_TARGET) {
    const { event, fields } = r.pick(events);
    const roll = r.rnd();
    const event2 = roll < 0.03 ? r.pick(UNKNOWN_EVENTS) : event;
    const args = [randomBody(fields, ctx, r)];
    // Two deep values in one payload can pass the frame limit, which closes the connection by
    // design (WS_MAX_PAYLOAD_BYTES) with no ack to check: such a case is drawn again.
    if (Buffer.byteLength(toJson(args)) > WS_FRAME_ROOM) continue;
    cases.push({ event: event2, args, ack: r.rnd() > 0.15 });
  }
  // Interleave events so no handler sees a long run of one kind.
  for (let i = cases.length - 1; i > 0; i--) {
    const j = r.int(i + 1);
    [cases[i], cases[j]] = [cases[j], cases[i]];
  }
  return cases;
}

/** A random payload: a valid one with 1-3 random fields broken, or random JSON. */
function randomBody(fields: Field[], ctx: Ctx, r: Rng, previous?: unknown): unknown {
  const names = fieldPaths(fields).map((p) => p.field.name);
  if (r.rnd() < 0.3) return randomJson(r, names);
  const isObject = previous !== null && typeof previous === 'object' && !Array.isArray(previous);
  let body: unknown = isObject ? previous : validObject(fields, ctx);
  const paths = fieldPaths(fields);
  if (paths.length === 0) return randomJson(r, names);
  for (let k = 1 + r.int(3); k > 0; k--) {
    const { path: p, field } = r.pick(paths);
    body = r.rnd() < 0.15 ? mutate(body, p, undefined, true) : mutate(body, p, r.pick(badValues(field, ctx, true)));
  }
  return body;
}

function baseRequest(route: Route, ctx: Ctx, tokens: Record<string, string>): HttpCase {
  const token = route.path.startsWith('/admin')
    ? tokens.admin
    : /logout|password/.test(route.path)
      ? tokens.sacrificial
      : tokens.user;
  const query = route.params
    .filter((p) => p.in === 'query' && p.required)
    .map((p) => `${p.name}=${encodeURIComponent(String(validValue(p, ctx)))}`)
    .join('&');
  const url = withPath(route, ctx, {}) + (query ? `?${query}` : '');
  const body = route.body ? toJson(validObject(route.body, ctx)) : undefined;
  return { method: route.method, url, body, token, label: 'valid' };
}

/** The route's path with valid ids (or the given raw values) for its parameters. */
function withPath(route: Route, ctx: Ctx, raw: Record<string, string>): string {
  return route.path.replace(/\{(\w+)\}/g, (_m, name: string) => {
    if (raw[name] !== undefined) return raw[name];
    const p = route.params.find((x) => x.name === name && x.in === 'path') as Param;
    if (p.kind !== 'int') return ctx.messageId;
    return name === 'userId' || /^\/(admin\/)?users/.test(route.path) ? String(ctx.otherId) : String(ctx.roomId);
  });
}

const queryOf = (url: string) => (url.includes('?') ? url.slice(url.indexOf('?')) : '');

/** Replaces one parameter of the query (keeping the others) with raw `pair` text. */
function withQuery(url: string, p: Param, pair: string): string {
  const [pathPart, q = ''] = url.split('?');
  const rest = q.split('&').filter((kv) => kv && kv.split('=')[0] !== p.name);
  const all = [...rest, pair].filter(Boolean);
  return all.length ? `${pathPart}?${all.join('&')}` : pathPart;
}

function send(agent: http.Agent, base: string, c: HttpCase): Promise<{ status: number; body: string }> {
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        agent,
        host: u.hostname,
        port: u.port,
        method: c.method,
        path: c.url,
        headers: {
          // Explicit length: Node sends a DELETE body unframed otherwise, corrupting the keep-alive stream.
          ...(c.body !== undefined
            ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(c.body) }
            : {}),
          ...(c.token ? { authorization: `Bearer ${c.token}` } : {}),
        },
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    req.end(c.body);
  });
}

/** What is wrong with a response, if anything: 5xx, or a 4xx without the contract's error body. */
function checkHttp(status: number, text: string): string | undefined {
  if (status === 0) return `no response: ${text}`;
  if (status >= 500) return `server error: ${text.slice(0, 200)}`;
  if (status < 400) return undefined;
  let body: { statusCode?: unknown; code?: unknown; message?: unknown };
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    return `non-JSON error body: ${text.slice(0, 100)}`;
  }
  if (body.statusCode !== status || !CODES.includes(String(body.code)) || typeof body.message !== 'string')
    return `bad error body: ${text.slice(0, 200)}`;
  return undefined;
}

function checkAck(ack: unknown): string | undefined {
  if (ack === 'timeout') return 'no ack within 5 s';
  const a = ack as { ok?: unknown; data?: unknown; error?: { code?: unknown; message?: unknown } };
  if (a?.ok === true) return undefined;
  if (a?.ok !== false || !a.error) return 'malformed ack';
  if (!CODES.includes(String(a.error.code)) || typeof a.error.message !== 'string')
    return `bad error ${String(a.error.code)}`;
  return undefined;
}

/** Writes a raw socket.io EVENT frame (so 1e309, -0 and 10,000-level nesting reach the server as written). */
function writeFrame(s: Socket, c: WsCase, id: number | undefined, onAck?: (a: unknown) => void): void {
  if (id !== undefined) (s as unknown as { acks: Record<number, (a: unknown) => void> }).acks[id] = onAck!;
  s.io.engine.write(`2${id ?? ''}${toJson([c.event, ...c.args])}`);
}

async function pool<T>(items: T[], concurrency: number, fn: (item: T, i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async (_, worker) => {
      while (next < items.length) {
        const i = next++;
        await fn(items[i], worker);
      }
    }),
  );
}

const fmt = (m: Map<string | number, number>) =>
  [...m]
    .sort(([a], [b]) => String(a).localeCompare(String(b)))
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');

async function expectNormalTraffic(t: TestApp, a: TestUser, b: TestUser, room: number): Promise<void> {
  const [sa, sb] = await Promise.all([connect(t.url, a.token), connect(t.url, b.token)]);
  expect((await emitAck(sa, 'joinRoom', { chatroomId: room })).ok).toBe(true);
  expect((await emitAck(sb, 'joinRoom', { chatroomId: room })).ok).toBe(true);
  const delivered = waitFor(sb, 'message', (e: { type: string }) => e.type === 'sendMessage');
  const ack = await emitAck(sa, 'sendMessage', {
    chatroomId: room,
    clientMsgId: 'after-fuzz',
    message: { type: 'text', content: 'still fine after the fuzz' },
  });
  expect(ack).toMatchObject({ ok: true, data: { content: 'still fine after the fuzz', seq: 1 } });
  expect(await delivered).toMatchObject({ chatroomId: room, message: { id: ack.data.id } });
  const deadline = Date.now() + 15_000;
  let rows: { content: string }[] = [];
  while (rows.length === 0 && Date.now() < deadline) {
    rows = await sql<{ content: string }>('SELECT content FROM messages WHERE id = $1', [ack.data.id]);
    if (rows.length === 0) await new Promise((res) => setTimeout(res, 100));
  }
  expect(rows).toEqual([{ content: 'still fine after the fuzz' }]);
  const history = await t.http().get(`/chatrooms/${room}/messages`).set(auth(a));
  expect(history.status).toBe(200);
  expect(history.body.items.map((m: { id: string }) => m.id)).toContain(ack.data.id);
  expect((await t.http().get('/health')).status).toBe(200);
}
