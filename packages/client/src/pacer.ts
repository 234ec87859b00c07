import { ChatError } from './errors.js';

/** How the client spends the server's per-socket event budget on requests it makes itself. */
export interface PacingOptions {
  /**
   * Requests a second, and at once, it allows itself: below the server's defaults
   * (`SOCKET_EVENT_RATE_PER_SEC` 50, `SOCKET_EVENT_BURST` 500), leaving room for the
   * application's own events. Default 40 and 400.
   */
  ratePerSec?: number;
  burst?: number;
  /** Requests waiting for their acks at once. Default 8. */
  inFlight?: number;
  /** How often one request waits out `RATE_LIMITED` before it fails. Default 20. */
  retries?: number;
}

interface Job {
  send: () => Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
  attempts: number;
}

/**
 * Puts the client's own bursts of requests (joins, the rejoin after a reconnect, sync pages)
 * on the wire within the server's per-socket event budget, in the order asked.
 *
 * A token bucket under the server's default budget, and a few requests in flight at once.
 * `RATE_LIMITED` (the server's budget is smaller, or the user's other sockets spent the
 * budget they share) holds every request for `details.retryAfterMs` and sends the refused
 * one again; from then until the queue is empty, one request at a time, so that each
 * refusal is of a request sent when told, which the server does not count toward its flood
 * cut. Firing a 1,000-room rejoin at once had 500 refused at once, the connection cut after
 * 200 refusals, and the same rejoin again at every reconnect, for ever.
 */
export class Pacer {
  private readonly opts: Required<PacingOptions>;
  private tokens: number;
  private at: number;
  private inFlight = 0;
  private holdUntil = 0;
  /** Refused since the queue was last empty: one request at a time. */
  private careful = false;
  private readonly queue: Job[] = [];
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    options: PacingOptions = {},
    private readonly now: () => number = Date.now,
  ) {
    this.opts = { ratePerSec: 40, burst: 400, inFlight: 8, retries: 20, ...options };
    this.tokens = this.opts.burst;
    this.at = now();
  }

  /** Runs `send` when the budget allows, again after each `RATE_LIMITED` (bounded). */
  run<T>(send: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ send, resolve: resolve as (v: unknown) => void, reject, attempts: 0 });
      this.drain();
    });
  }

  /** The connection is gone: what waits fails with `err`; the next connection starts afresh. */
  reset(err: ChatError): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.tokens = this.opts.burst;
    this.holdUntil = 0;
    this.careful = false;
    for (const job of this.queue.splice(0)) job.reject(err);
  }

  private drain(): void {
    while (this.queue.length && this.inFlight < (this.careful ? 1 : this.opts.inFlight)) {
      const wait = this.waitMs();
      if (wait > 0) return this.wake(wait);
      this.tokens -= 1;
      this.dispatch(this.queue.shift()!);
    }
    if (!this.queue.length && !this.inFlight) this.careful = false;
  }

  /** Refills the bucket; how long until both it and the hold let a request go. */
  private waitMs(): number {
    const t = this.now();
    this.tokens = Math.min(this.opts.burst, this.tokens + ((t - this.at) / 1000) * this.opts.ratePerSec);
    this.at = t;
    const forToken = this.tokens >= 1 ? 0 : Math.ceil(((1 - this.tokens) / this.opts.ratePerSec) * 1000);
    return Math.max(this.holdUntil - t, forToken);
  }

  private wake(ms: number): void {
    if (this.timer) return; // it drains again then, and waits more if it must
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.drain();
    }, ms);
  }

  private dispatch(job: Job): void {
    this.inFlight++;
    job.attempts++;
    job.send().then(
      (value) => {
        this.inFlight--;
        job.resolve(value);
        this.drain();
      },
      (err: unknown) => {
        this.inFlight--;
        this.failed(job, err);
        this.drain();
      },
    );
  }

  /** RATE_LIMITED: hold everything for the wait named, then send it again, first; else fail. */
  private failed(job: Job, err: unknown): void {
    const wait = rateLimitWait(err);
    if (wait === undefined || job.attempts > this.opts.retries) return job.reject(err);
    this.careful = true;
    this.holdUntil = Math.max(this.holdUntil, this.now() + wait);
    this.waitMs(); // brings the bucket to now, then empties it: so is the server's
    this.tokens = Math.min(this.tokens, 0);
    this.queue.unshift(job);
  }
}

/** A `RATE_LIMITED` refusal's `details.retryAfterMs` (0–60 s), else undefined. */
export function rateLimitWait(err: unknown): number | undefined {
  if (!(err instanceof ChatError) || err.code !== 'RATE_LIMITED') return undefined;
  const ms = (err.details as { retryAfterMs?: unknown } | undefined)?.retryAfterMs;
  return typeof ms === 'number' && ms >= 0 && ms <= 60_000 ? ms : undefined;
}
