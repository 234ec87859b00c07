import DataLoader from 'dataloader';

/**
 * A DataLoader that answers every load asked during one turn of the event loop with one
 * batch call, scheduled with setImmediate (DataLoader's default, process.nextTick, batches
 * one callback's loads; under a reconnect storm each socket's handshake and join is its own
 * callback, and one turn handles hundreds of them). No cache of its own: the callers keep
 * theirs, with their own invalidation. `load` answers in key order, null where nothing is.
 */
export function turnLoader<K, V>(load: (keys: readonly K[]) => Promise<V[]>, maxBatchSize = 500): DataLoader<K, V> {
  return new DataLoader<K, V>(load, { cache: false, batchScheduleFn: (run) => setImmediate(run), maxBatchSize });
}
