/** cluster-key-slot (ioredis's own dependency) ships no types: the one function used. */
declare module 'cluster-key-slot' {
  /** The Redis Cluster hash slot of a key (its hash tag, if any). */
  export default function calculateSlot(key: string): number;
}
