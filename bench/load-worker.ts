/**
 * A load generator process (forked by the harness, never run by hand). It owns whole rooms,
 * so a message's sender and all its receivers live here: missing receipts are detected
 * locally and latencies use one clock. It sends open-loop at the rate the harness asks for,
 * without waiting for acks, so a slow server shows up as latency rather than a lower rate.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { io, type Socket } from 'socket.io-client';
import { ClientEvent, ServerEvent, TimelineEvent } from '../src/common/constants';
import type { BenchMember, BenchRoom, WorkerCommand, WorkerReport } from './protocol';
import { nowMs } from './stats';
import { StepTracker } from './step-tracker';

interface Client {
  socket: Socket;
  chatroomId: number;
  member: number;
}

/** Sends are paced by a timer of this period; each tick sends whatever is due by then. */
const TICK_MS = 5;
const CONNECT_TIMEOUT_MS = 20_000;
const JOIN_TIMEOUT_MS = 20_000;

let workerId = 0;
let clients: Client[] = [];
let sendOrder: Client[] = [];
let cursor = 0;
let roomSize = 0;
let disconnects = 0;
let tracker: StepTracker | null = null;
const LOOP_DELAY_RESOLUTION_MS = 10;
const loopDelay = monitorEventLoopDelay({ resolution: LOOP_DELAY_RESOLUTION_MS });

function report(msg: WorkerReport): void {
  process.send?.(msg);
}

function connect(url: string, chatroomId: number, member: number, who: BenchMember): Promise<Client> {
  return new Promise((resolve, reject) => {
    const socket = io(url, {
      transports: ['websocket'],
      auth: { token: who.token },
      forceNew: true,
      reconnection: false,
      timeout: CONNECT_TIMEOUT_MS,
    });
    socket.once('connect', () => resolve({ socket, chatroomId, member }));
    socket.once('connect_error', (err) => {
      socket.close();
      reject(new Error(`${who.username} could not connect to ${url}: ${err.message}`));
    });
  });
}

async function join(c: Client): Promise<void> {
  const ack = await c.socket.timeout(JOIN_TIMEOUT_MS).emitWithAck(ClientEvent.JoinRoom, { chatroomId: c.chatroomId });
  if (!ack?.ok) throw new Error(`joinRoom ${c.chatroomId} refused: ${JSON.stringify(ack)}`);
}

/** Listens for room broadcasts and hands `sendMessage` ones to the current step. */
function listen(c: Client): void {
  c.socket.on(ServerEvent.Message, (evt: { type?: string; message?: { content?: string } }) => {
    if (evt?.type !== TimelineEvent.SendMessage || !tracker) return;
    const now = nowMs();
    try {
      const body = JSON.parse(evt.message?.content ?? '') as { k: string; t: number };
      tracker.onReceipt(body.k, c.member, body.t, now);
    } catch {
      tracker.sample(`unparseable message content: ${String(evt.message?.content).slice(0, 80)}`);
    }
  });
  c.socket.on('disconnect', () => disconnects++);
}

/** Connects a bounded number of sockets at a time, so the server is not hit by every handshake at once. */
async function init(url: string, rooms: BenchRoom[], concurrency: number): Promise<void> {
  const started = Date.now();
  roomSize = rooms[0]?.members.length ?? 0;
  const todo = rooms.flatMap((r) => r.members.map((m, i) => ({ chatroomId: r.chatroomId, member: i, who: m })));
  for (let i = 0; i < todo.length; i += concurrency) {
    const batch = todo.slice(i, i + concurrency);
    const connected = await Promise.all(batch.map((t) => connect(url, t.chatroomId, t.member, t.who)));
    await Promise.all(connected.map(join));
    connected.forEach(listen);
    clients.push(...connected);
  }
  // Interleave rooms (member 0 of every room, then member 1, ...) so consecutive sends
  // go to different rooms, the way independent users would.
  sendOrder = [...clients].sort((a, b) => a.member - b.member);
  report({ kind: 'ready', sockets: clients.length, connectMs: Date.now() - started });
}

function sendOne(t: StepTracker, step: number, n: number): void {
  const c = sendOrder[cursor++ % sendOrder.length];
  const key = `w${workerId}s${step}n${n}`;
  const sentAt = nowMs();
  t.onSend(key, c.member, sentAt);
  const payload = {
    chatroomId: c.chatroomId,
    clientMsgId: key,
    message: { type: 'text', content: JSON.stringify({ k: key, t: sentAt }) },
  };
  c.socket.emit(ClientEvent.SendMessage, payload, (ack: unknown) => t.onAck(key, ack, nowMs()));
}

/** Sends `rate` messages per second for `durationMs`, catching up on late ticks. */
function pace(t: StepTracker, step: number, rate: number, durationMs: number): Promise<void> {
  const start = performance.now();
  let sent = 0;
  return new Promise((resolve) => {
    const timer = setInterval(() => {
      const elapsed = Math.min(performance.now() - start, durationMs);
      const due = Math.floor((elapsed * rate) / 1000) - sent;
      for (let i = 0; i < due; i++) sendOne(t, step, sent++);
      if (elapsed >= durationMs) {
        clearInterval(timer);
        resolve();
      }
    }, TICK_MS);
  });
}

async function settle(t: StepTracker, graceMs: number): Promise<void> {
  const deadline = performance.now() + graceMs;
  while (!t.settled() && performance.now() < deadline) {
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function runStep(cmd: Extract<WorkerCommand, { kind: 'step' }>): Promise<void> {
  const t = new StepTracker(roomSize);
  tracker = t;
  const disconnectsBefore = disconnects;
  loopDelay.reset();
  loopDelay.enable();
  await pace(t, cmd.step, cmd.rate, cmd.durationMs);
  await settle(t, cmd.graceMs);
  loopDelay.disable();
  tracker = null;
  // The histogram measures whole timer periods: the resolution itself is not delay.
  const delayP99 = Math.max(0, loopDelay.percentile(99) / 1e6 - LOOP_DELAY_RESOLUTION_MS);
  const result = t.close(disconnects - disconnectsBefore, delayP99);
  report({ kind: 'stepDone', step: cmd.step, result });
}

async function handle(cmd: WorkerCommand): Promise<void> {
  if (cmd.kind === 'init') {
    workerId = cmd.workerId;
    await init(cmd.url, cmd.rooms, cmd.connectConcurrency);
  } else if (cmd.kind === 'step') {
    await runStep(cmd);
  } else {
    clients.forEach((c) => c.socket.close());
    clients = [];
    process.exit(0);
  }
}

process.on('message', (cmd: WorkerCommand) => {
  handle(cmd).catch((err: unknown) => {
    report({ kind: 'error', message: err instanceof Error ? err.message : String(err) });
  });
});
// The harness died or let go of us: nobody is left to report to.
process.on('disconnect', () => process.exit(0));
