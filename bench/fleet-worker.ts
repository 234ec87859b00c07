/**
 * A fleet of mostly idle sockets (forked by the harness for the idle and reconnect
 * scenarios, never run by hand). It connects its share of the sockets, a bounded number of
 * handshakes at a time, joins each socket's rooms and counts every server event it gets.
 * Once armed (reconnect), a socket that drops reconnects with socket.io's own backoff
 * (like a real client), joins its rooms again and calls `sync` from the seqs it knew; the
 * worker reports its progress every 500 ms until every socket is back.
 */
import { io, type Socket } from 'socket.io-client';
import { ClientEvent } from '../src/common/constants';
import type { EventCounts, FleetCommand, FleetProgress, FleetReport, FleetSocket } from './protocol';
import { nowMs } from './stats';

const CONNECT_TIMEOUT_MS = 60_000;
/** A handshake the server could not answer in time (busy with a join storm) is tried again. */
const CONNECT_ATTEMPTS = 3;
/** Long: under a join storm the server answers joins minutes late, and that is what is measured. */
const ACK_TIMEOUT_MS = 120_000;
const PROGRESS_MS = 500;
const RETRY_MS = 1000;
const MAX_ERROR_SAMPLES = 5;

interface Member {
  socket: Socket;
  who: FleetSocket;
  lastSeq: Map<number, number>;
  /** Since arm: up (never dropped), down (dropped, not back yet), back (rooms joined, sync answered). */
  state: 'up' | 'down' | 'back';
  connects: number;
}

let members: Member[] = [];
let armed = false;
let events: EventCounts = {};
let progress: FleetProgress = fresh(0);
let ticker: NodeJS.Timeout | null = null;
let connectRetries = 0;

function fresh(sockets: number): FleetProgress {
  return {
    sockets,
    disconnected: 0,
    reconnected: 0,
    resynced: 0,
    firstDisconnectAt: 0,
    lastReconnectAt: 0,
    lastResyncAt: 0,
    joinErrors: 0,
    syncErrors: 0,
    events: {},
    errorSamples: [],
  };
}

function report(msg: FleetReport): void {
  process.send?.(msg);
}

function sample(message: string): void {
  if (progress.errorSamples.length < MAX_ERROR_SAMPLES) progress.errorSamples.push(message);
}

function count(event: string, payload: unknown): void {
  const type = event === 'message' ? (payload as { type?: string } | undefined)?.type : undefined;
  const key = type ? `${event}:${type}` : event;
  events[key] = (events[key] ?? 0) + 1;
}

/** joinRoom for each room (remembering its lastSeq); throws on the first refusal. */
async function joinAll(m: Member): Promise<void> {
  for (const chatroomId of m.who.rooms) {
    const ack = (await m.socket.timeout(ACK_TIMEOUT_MS).emitWithAck(ClientEvent.JoinRoom, { chatroomId })) as {
      ok?: boolean;
      data?: { lastSeq?: number };
    };
    if (!ack?.ok) throw new Error(`joinRoom ${chatroomId} refused: ${JSON.stringify(ack).slice(0, 200)}`);
    if (!m.lastSeq.has(chatroomId)) m.lastSeq.set(chatroomId, ack.data?.lastSeq ?? 0);
  }
}

/** After a reconnection: rooms again, then one `sync` for all of them; retried until it works. */
async function resync(m: Member): Promise<void> {
  const connectsAtStart = m.connects;
  for (;;) {
    if (!m.socket.connected || m.connects !== connectsAtStart) return; // a newer connection takes over
    try {
      await joinAll(m);
    } catch (err) {
      progress.joinErrors++;
      sample(`user ${m.who.userId}: ${(err as Error).message}`);
      await new Promise((r) => setTimeout(r, RETRY_MS));
      continue;
    }
    try {
      const rooms = m.who.rooms.map((chatroomId) => ({ chatroomId, afterSeq: m.lastSeq.get(chatroomId) ?? 0 }));
      const ack = (await m.socket.timeout(ACK_TIMEOUT_MS).emitWithAck(ClientEvent.Sync, { rooms })) as {
        ok?: boolean;
      };
      if (!ack?.ok) throw new Error(`sync refused: ${JSON.stringify(ack).slice(0, 200)}`);
    } catch (err) {
      progress.syncErrors++;
      sample(`user ${m.who.userId}: ${(err as Error).message}`);
      await new Promise((r) => setTimeout(r, RETRY_MS));
      continue;
    }
    if (m.connects !== connectsAtStart || m.state !== 'down') return;
    m.state = 'back';
    progress.lastResyncAt = nowMs();
    return;
  }
}

function connect(url: string, who: FleetSocket, reconnect: boolean): Promise<Member> {
  return new Promise((resolve, reject) => {
    const socket = io(url, {
      transports: ['websocket'],
      auth: { token: who.token },
      forceNew: true,
      // socket.io's defaults (1 s doubling to 5 s, ±50 %): what a real client does after a restart.
      reconnection: reconnect,
      timeout: CONNECT_TIMEOUT_MS,
    });
    const m: Member = { socket, who, lastSeq: new Map(), state: 'up', connects: 0 };
    socket.onAny((event: string, payload: unknown) => count(event, payload));
    socket.on('connect', () => {
      m.connects++;
      if (m.connects === 1) {
        resolve(m);
        return;
      }
      if (!armed) return;
      progress.reconnected++;
      progress.lastReconnectAt = nowMs();
      void resync(m);
    });
    socket.on('disconnect', (reason) => {
      if (!armed) return;
      if (progress.firstDisconnectAt === 0) progress.firstDisconnectAt = nowMs();
      m.state = 'down';
      // The server said goodbye on purpose: socket.io then leaves reconnecting to the app.
      if (reason === 'io server disconnect') socket.connect();
    });
    socket.once('connect_error', (err) => {
      if (m.connects > 0) return; // later errors are retries, counted by the storm's outcome
      socket.close();
      reject(new Error(`user ${who.userId} could not connect to ${url}: ${err.message}`));
    });
  });
}

async function connectWithRetry(url: string, who: FleetSocket, reconnect: boolean): Promise<Member> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await connect(url, who, reconnect);
    } catch (err) {
      if (attempt >= CONNECT_ATTEMPTS) throw err;
      connectRetries++;
      await new Promise((r) => setTimeout(r, RETRY_MS));
    }
  }
}

async function init(cmd: Extract<FleetCommand, { kind: 'init' }>): Promise<void> {
  const started = Date.now();
  const tell = setInterval(() => {
    const n = Object.values(events).reduce((a, b) => a + b, 0);
    report({ kind: 'connecting', joined: members.length, events: n });
  }, PROGRESS_MS * 4);
  for (let i = 0; i < cmd.sockets.length; i += cmd.concurrency) {
    const batch = cmd.sockets.slice(i, i + cmd.concurrency);
    const connected = await Promise.all(batch.map((who) => connectWithRetry(cmd.url, who, cmd.reconnect)));
    await Promise.all(connected.map(joinAll));
    members.push(...connected);
  }
  clearInterval(tell);
  report({ kind: 'ready', sockets: members.length, connectMs: Date.now() - started, connectRetries, events });
}

function arm(): void {
  armed = true;
  events = {};
  progress = fresh(members.length);
  for (const m of members) m.state = 'up';
  const tick = () => {
    const back = members.filter((m) => m.state === 'back').length;
    const dropped = members.filter((m) => m.state !== 'up').length;
    report({
      kind: 'progress',
      progress: { ...progress, disconnected: dropped, resynced: back, events: { ...events } },
    });
  };
  ticker = setInterval(tick, PROGRESS_MS);
}

async function handle(cmd: FleetCommand): Promise<void> {
  if (cmd.kind === 'init') await init(cmd);
  else if (cmd.kind === 'arm') arm();
  else {
    if (ticker) clearInterval(ticker);
    members.forEach((m) => m.socket.close());
    members = [];
    process.exit(0);
  }
}

process.on('message', (cmd: FleetCommand) => {
  handle(cmd).catch((err: unknown) => {
    report({ kind: 'error', message: err instanceof Error ? err.message : String(err) });
  });
});
process.on('disconnect', () => process.exit(0));
