import type { RedisClient } from './redis.service';

type Arg = string | number;

/**
 * A Lua script as an ioredis custom command (EVALSHA, falling back to EVAL once per
 * connection), with its keys named and its arguments and reply typed where it is declared:
 * callers pass `{ seq: ..., pending: ... }`, not keys by position behind a cast.
 *
 * On a Redis Cluster every key of one call must share a hash slot (see RedisKeys).
 */
export class RedisScript<K extends string, A extends readonly Arg[], R> {
  constructor(
    readonly name: string,
    readonly keys: readonly K[],
    readonly lua: string,
  ) {}

  /** Registers the command on the client (once) and returns its typed caller. */
  on(client: RedisClient): (keys: Record<K, string>, ...args: A) => Promise<R> {
    if (!(this.name in client)) client.defineCommand(this.name, { numberOfKeys: this.keys.length, lua: this.lua });
    const command = (client as unknown as Record<string, (...args: Arg[]) => Promise<R>>)[this.name].bind(client);
    return (keys, ...args) => command(...this.keys.map((k) => keys[k]), ...args);
  }
}
