/**
 * Preloaded into a bench target (`node --expose-gc -r gc-on-signal.js`) for the idle
 * scenario: SIGURG runs a full garbage collection, so that the empty and the connected
 * footprints are both read with no garbage waiting. Read at whatever point V8 last
 * collected, the empty footprint moved by tens of MiB between runs, and the figure per
 * socket with it. SIGURG because nothing else here listens to it (Nest's shutdown hooks
 * take SIGUSR2, heap snapshots SIGWINCH) and its default action is to ignore it.
 */
const gc = (globalThis as { gc?: () => void }).gc;
if (gc) process.on('SIGURG', () => gc());
