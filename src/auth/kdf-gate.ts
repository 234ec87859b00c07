import { AppError, ErrorCode } from '../common/errors';

/**
 * How many scrypt computations run at once in this process. scrypt runs on libuv's thread
 * pool (4 threads unless UV_THREADPOOL_SIZE says otherwise), which fs (the web client's
 * files), dns.lookup and zlib share: with every thread in a ~100 ms hash, every other
 * user's request that touches the pool waits behind the queue of hashes. Two leave the
 * rest of the pool free.
 */
export const KDF_SLOTS = 2;

/** Computations that may wait for a slot: ~1.6 s of work at ~100 ms each; past it, refuse. */
export const KDF_QUEUE = 32;

/**
 * A counting semaphore with a bounded FIFO queue, for password hashing. Hand-written: it is
 * a dozen lines, not worth a dependency (and p-limit, the usual one, queues without bound).
 * A full queue is refused at once with RATE_LIMITED (429, `details.retryAfterMs`): a flood
 * that waited would only hold its sockets open and wait longer.
 */
export class KdfGate {
  private running = 0;
  private readonly waiting: (() => void)[] = [];
  /** Recent duration of one computation (moving average), to say when to retry. */
  private averageMs = 100;

  constructor(
    readonly slots = KDF_SLOTS,
    readonly maxQueued = KDF_QUEUE,
  ) {}

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
    return new AppError(ErrorCode.RateLimited, 'The server is busy checking passwords: try again shortly', {
      retryAfterMs: this.retryAfterMs(),
    });
  }
}

/**
 * At most one password check or hash in flight per key (an account): one user's burst of
 * logins or password changes would otherwise take every slot of the gate from everyone
 * else. A claim either succeeds at once or not at all; nothing waits here.
 */
export class KdfLeases {
  private readonly held = new Set<string>();

  /** The key's lease, as the function that gives it back (once); undefined while it is held. */
  claim(key: string): (() => void) | undefined {
    if (this.held.has(key)) return undefined;
    this.held.add(key);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.held.delete(key);
    };
  }

  isHeld(key: string): boolean {
    return this.held.has(key);
  }
}

/** Process-wide: every hash and check of this process shares the one thread pool. */
export const kdfGate = new KdfGate();
export const kdfLeases = new KdfLeases();
