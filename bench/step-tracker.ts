/**
 * One load worker's bookkeeping for one step: every message it sent, which members have
 * received it, and the latencies. A message is "missing" when it was acked but some
 * non-sender member of its room never received it before the step was closed.
 */
import type { WorkerStepResult } from './protocol';
import { Histogram } from './stats';

interface Pending {
  sender: number;
  sentAt: number;
  /** undefined until the ack arrives. */
  acked?: boolean;
  seen: Uint8Array;
  received: number;
  expected: number;
}

/** Ack payload per CONTRACT.md: `{ok: true, data}` or `{ok: false, error: {code, message}}`. */
interface Ack {
  ok?: boolean;
  error?: { code?: string; message?: string };
}

const MAX_ERROR_SAMPLES = 5;

export class StepTracker {
  private pending = new Map<string, Pending>();
  private delivery = new Histogram();
  private ack = new Histogram();
  private closed = false;
  private sent = 0;
  private acked = 0;
  private ackErrors = 0;
  private awaitingAck = 0;
  /** Receipts still expected from messages not known to have failed. */
  private owed = 0;
  private deliveries = 0;
  private selfEchoes = 0;
  private duplicates = 0;
  private firstSendAt = 0;
  private lastSendAt = 0;
  private errorSamples: string[] = [];

  constructor(private readonly roomSize: number) {}

  onSend(key: string, sender: number, sentAt: number): void {
    const expected = this.roomSize - 1;
    this.pending.set(key, { sender, sentAt, seen: new Uint8Array(this.roomSize), received: 0, expected });
    this.sent++;
    this.awaitingAck++;
    this.owed += expected;
    if (this.firstSendAt === 0) this.firstSendAt = sentAt;
    this.lastSendAt = sentAt;
  }

  onAck(key: string, ack: unknown, now: number): void {
    const p = this.closed ? undefined : this.pending.get(key);
    if (!p || p.acked !== undefined) return;
    this.awaitingAck--;
    const a = (ack ?? {}) as Ack;
    p.acked = a.ok === true;
    if (p.acked) {
      this.acked++;
      this.ack.record(now - p.sentAt);
      return;
    }
    // A refused message is never broadcast: stop waiting for its receipts.
    this.ackErrors++;
    this.owed -= p.expected - p.received;
    this.sample(`ack error: ${a.error?.code ?? 'malformed'} ${a.error?.message ?? JSON.stringify(ack)}`);
  }

  /** A `message` event at member `member`; `sentAt` is the send time the sender embedded. */
  onReceipt(key: string, member: number, sentAt: number, now: number): void {
    const p = this.closed ? undefined : this.pending.get(key);
    if (!p) return;
    if (member === p.sender) {
      this.selfEchoes++;
      return;
    }
    if (p.seen[member]) {
      this.duplicates++;
      return;
    }
    p.seen[member] = 1;
    p.received++;
    this.deliveries++;
    if (p.acked !== false) this.owed--;
    this.delivery.record(now - sentAt);
  }

  /** Every send answered and every acked message at every member: no reason to wait longer. */
  settled(): boolean {
    return this.awaitingAck === 0 && this.owed === 0;
  }

  sample(message: string): void {
    if (this.errorSamples.length < MAX_ERROR_SAMPLES) this.errorSamples.push(message);
  }

  /** Closes the step: later acks and receipts (stragglers) are ignored. */
  close(disconnects: number, loopDelayP99Ms: number): WorkerStepResult {
    this.closed = true;
    let missing = 0;
    for (const p of this.pending.values()) {
      if (p.acked === true) missing += p.expected - p.received;
    }
    this.pending.clear();
    return {
      sent: this.sent,
      acked: this.acked,
      ackErrors: this.ackErrors,
      unacked: this.awaitingAck,
      missing,
      deliveries: this.deliveries,
      selfEchoes: this.selfEchoes,
      duplicates: this.duplicates,
      disconnects,
      firstSendAt: this.firstSendAt,
      lastSendAt: this.lastSendAt,
      delivery: this.delivery.toData(),
      ack: this.ack.toData(),
      loopDelayP99Ms,
      errorSamples: this.errorSamples,
    };
  }
}
