import { isMainThread } from 'node:worker_threads';

/**
 * Preloaded into a bench target (`node --expose-gc -r gc-on-signal.js`) for the idle
 * scenario: SIGURG runs a full garbage collection, so that the empty and the connected
 * footprints are both read with no garbage waiting. Read at whatever point V8 last
 * collected, the empty footprint moved by tens of MiB between runs, and the figure per
 * socket with it. SIGURG because nothing else here listens to it (the shutdown hooks take
 * SIGTERM, SIGINT and SIGHUP, heap snapshots SIGWINCH) and its default action is to ignore it.
 *
 * Worker threads (the server's persistence thread) inherit the preload and the flag but
 * never see a signal, so the main thread passes the request on over a BroadcastChannel.
 * Without it the persistence thread's start-up garbage was in the empty footprint and left
 * during the connected phase (36 MiB in two of three runs), which made the figure per
 * socket look 3.6 KiB smaller than it was.
 */
const gc = (globalThis as { gc?: () => void }).gc;
if (gc) {
  const everyThread = new BroadcastChannel('bench-gc-on-signal');
  everyThread.unref();
  if (isMainThread) {
    process.on('SIGURG', () => {
      gc();
      everyThread.postMessage('gc');
    });
  } else {
    everyThread.onmessage = () => gc();
  }
}
