import { randomBytes, scrypt as scryptCb, ScryptOptions, timingSafeEqual } from 'node:crypto';
import { kdfGate } from './kdf-gate';

/**
 * Password hashing with scrypt (node:crypto, no native add-on to build). The stored string
 * carries its parameters, `scrypt$N$r$p$salt$hash`, so the cost can be raised later and old
 * hashes still verify. N=2^15, r=8 costs 32 MiB and ~100 ms per hash on one core, run on
 * libuv's thread pool so the event loop keeps serving sockets meanwhile. Every computation
 * passes the process's KdfGate (two at a time), so hashing never takes the whole pool; when
 * its queue is full, hashPassword and verifyPassword throw RATE_LIMITED.
 */
const N = 1 << 15;
const R = 8;
const P = 1;
const KEY_LEN = 32;

function scrypt(password: string, salt: Buffer, n: number, r: number, p: number): Promise<Buffer> {
  const opts: ScryptOptions = { N: n, r, p, maxmem: 256 * n * r };
  return kdfGate.run(
    () =>
      new Promise((resolve, reject) =>
        scryptCb(password.normalize('NFKC'), salt, KEY_LEN, opts, (err, key) => (err ? reject(err) : resolve(key))),
      ),
  );
}

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scrypt(password, salt, N, R, P);
  return ['scrypt', N, R, P, salt.toString('base64'), key.toString('base64')].join('$');
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [alg, n, r, p, salt, hash] = stored.split('$');
  if (alg !== 'scrypt' || !salt || !hash) return false;
  const expected = Buffer.from(hash, 'base64');
  const actual = await scrypt(password, Buffer.from(salt, 'base64'), Number(n), Number(r), Number(p));
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

/**
 * A real hash of nothing: verifying against it costs what a real check costs (no user-enumeration by timing).
 * Made on first use; a refused or failed attempt is not kept, the next login makes it again.
 */
let dummy: Promise<string> | undefined;
export function dummyHash(): Promise<string> {
  dummy ??= hashPassword(randomBytes(16).toString('hex')).catch((err: unknown) => {
    dummy = undefined;
    throw err;
  });
  return dummy;
}
