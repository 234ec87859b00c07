import { SlotGate } from '../common/slot-gate';

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
 * The password hashing's SlotGate: a full queue is refused at once with RATE_LIMITED (429,
 * `details.retryAfterMs`): a flood that waited would only hold its sockets open and wait longer.
 */
export class KdfGate extends SlotGate {
  constructor(slots = KDF_SLOTS, maxQueued = KDF_QUEUE) {
    super(slots, maxQueued, 'checking passwords', 100);
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
