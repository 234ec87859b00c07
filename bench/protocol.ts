/**
 * Shapes shared by the harness and its load workers: the room layout each worker connects,
 * and the IPC messages that drive a step and bring its measurements back.
 */
import type { HistogramData } from './stats';

export interface BenchMember {
  userId: number;
  username: string;
  token: string;
}

export interface BenchRoom {
  chatroomId: number;
  members: BenchMember[];
}

/** Harness → worker. */
export type WorkerCommand =
  | { kind: 'init'; workerId: number; url: string; rooms: BenchRoom[]; connectConcurrency: number }
  | { kind: 'step'; step: number; rate: number; durationMs: number; graceMs: number }
  | { kind: 'stop' };

/** One worker's account of one step. Times are wall-clock ms (`nowMs()`). */
export interface WorkerStepResult {
  sent: number;
  acked: number;
  /** Acks that came back `{ok: false}` (or malformed). */
  ackErrors: number;
  /** Sends with no ack by the end of the grace period. */
  unacked: number;
  /** Receipts an acked message still lacked at non-sender members at the end of the grace period. */
  missing: number;
  /** Receipts at non-sender members (the sender's own copy is not counted). */
  deliveries: number;
  selfEchoes: number;
  duplicates: number;
  disconnects: number;
  firstSendAt: number;
  lastSendAt: number;
  delivery: HistogramData;
  ack: HistogramData;
  /** The worker's own event-loop delay p99: a busy load generator inflates every latency. */
  loopDelayP99Ms: number;
  errorSamples: string[];
}

/** Worker → harness. */
export type WorkerReport =
  | { kind: 'ready'; sockets: number; connectMs: number }
  | { kind: 'stepDone'; step: number; result: WorkerStepResult }
  | { kind: 'error'; message: string };

/** idle / reconnect: one socket of the fleet (one user) and the rooms it joins. */
export interface FleetSocket {
  userId: number;
  token: string;
  rooms: number[];
}

/** Server events a fleet received, by name (`message` by its `type`: `message:joinRoom`). */
export type EventCounts = Record<string, number>;

/** Harness → fleet worker. */
export type FleetCommand =
  | { kind: 'init'; url: string; sockets: FleetSocket[]; concurrency: number; reconnect: boolean }
  /** Zero the counters: from now on every socket that drops reconnects, re-joins and syncs. */
  | { kind: 'arm' }
  | { kind: 'stop' };

/** One fleet worker's account of a reconnection storm so far. */
export interface FleetProgress {
  sockets: number;
  /** Sockets that dropped since arm (whether back or not). */
  disconnected: number;
  /** Reconnections (a socket may reconnect more than once). */
  reconnected: number;
  /** Sockets that dropped and are back in every room with `sync` answered. */
  resynced: number;
  firstDisconnectAt: number;
  lastReconnectAt: number;
  lastResyncAt: number;
  joinErrors: number;
  syncErrors: number;
  events: EventCounts;
  errorSamples: string[];
}

/** Fleet worker → harness. */
export type FleetReport =
  | { kind: 'ready'; sockets: number; connectMs: number; connectRetries: number; events: EventCounts }
  | { kind: 'progress'; progress: FleetProgress }
  /** While connecting: sockets connected and joined so far, events received so far. */
  | { kind: 'connecting'; joined: number; events: number }
  | { kind: 'error'; message: string };
