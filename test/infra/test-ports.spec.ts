import { REDIS_CLUSTER_PORTS, SPAWN_PORTS } from '../utils/processes';

/**
 * The e2e projects run at once: a spawned server's port must never be one the local Redis
 * Cluster holds, its client port or its bus port (+10000). A bus port once took port 27007
 * from the multi-instance suite (EADDRINUSE).
 */
describe('test port ranges', () => {
  const overlaps = (a: { from: number; to: number }, b: { from: number; to: number }) => a.from < b.to && b.from < a.to;
  const bus = { from: REDIS_CLUSTER_PORTS.from + 10_000, to: REDIS_CLUSTER_PORTS.to + 10_000 };

  it('keeps spawned servers off the Redis Cluster ports and bus ports', () => {
    expect(overlaps(SPAWN_PORTS, REDIS_CLUSTER_PORTS)).toBe(false);
    expect(overlaps(SPAWN_PORTS, bus)).toBe(false);
  });

  it('stays below the kernel ephemeral range, where outgoing connections take ports', () => {
    expect(Math.max(SPAWN_PORTS.to, bus.to)).toBeLessThanOrEqual(32_768);
  });
});
