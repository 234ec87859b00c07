import { AppError, ErrorCode } from './errors';

/**
 * A counting semaphore with a bounded FIFO queue: at most `slots` pieces of work at once,
 * `maxQueued` waiting, and past that RATE_LIMITED at once (429, `details.retryAfterMs`).
 * Hand-written: it is a dozen lines, not worth a dependency (and p-limit, the usual one,
 * queues without bound). Used for password hashing (KdfGate) and for the transactions that
 * wait on row locks holding a pooled connection (ChatroomsService).
 */
export class SlotGate {
  private running = 0;
  private readonly waiting: (() => void)[] = [];
  /** Recent duration of one piece of work (moving average), to say when to retry. */
  private averageMs: number;

  constructor(
    readonly slots: number,
    readonly maxQueued: number,
    /** What is busy, for the refusal: "The server is busy <what>: try again shortly". */
    private readonly what: string,
    /** A first guess of one piece's duration, until some have run. */
    typicalMs: number,
  ) {
    this.averageMs = typicalMs;
  }

  get active(): number {
    return this.running;
  }

  get queued(): number {
    return this.waiting.length;
  }

  /** Whether run() would refuse now. */
  isFull(): boolean {
    return this.running >= this.slots && this.waiting.length >= this.maxQueued;
  }

  /** About how long until what is queued now has run. */
  retryAfterMs(): number {
    return Math.ceil(((this.waiting.length + 1) / this.slots) * this.averageMs);
  }

  /** Runs `work` once a slot is free, in arrival order; RATE_LIMITED if the queue is full. */
  async run<T>(work: () => Promise<T>): Promise<T> {
    await this.enter();
    const started = performance.now();
    try {
      return await work();
    } finally {
      this.averageMs = 0.8 * this.averageMs + 0.2 * (performance.now() - started);
      this.leave();
    }
  }

  private enter(): Promise<void> {
    if (this.running < this.slots) {
      this.running++;
      return Promise.resolve();
    }
    if (this.waiting.length >= this.maxQueued) return Promise.reject(this.busy());
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  /** Hands the slot straight to the first waiter, so a newcomer cannot jump the queue. */
  private leave(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.running--;
  }

  private busy(): AppError {
    return new AppError(ErrorCode.RateLimited, `The server is busy ${this.what}: try again shortly`, {
      retryAfterMs: this.retryAfterMs(),
    });
  }
}
