import { connect, type Socket } from 'node:net';

/** A raw TCP client: what it received so far, and promises for the first bytes and the close. */
export interface RawClient {
  socket: Socket;
  received: () => string;
  /** Resolves once the received text contains `text`. */
  waitFor: (text: string) => Promise<void>;
  closed: Promise<void>;
}

/**
 * A raw TCP connection to 127.0.0.1 (from `localAddress` if given: all of 127.0.0.0/8 is this
 * host on Linux), for what HTTP clients never do: half requests, pipelining, never reading.
 */
export async function rawClient(port: number, localAddress?: string): Promise<RawClient> {
  const socket = connect({ port, host: '127.0.0.1', localAddress });
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  let data = '';
  const waiters: { text: string; resolve: () => void }[] = [];
  socket.on('data', (d: Buffer) => {
    data += d.toString();
    for (const w of waiters.filter((x) => data.includes(x.text))) w.resolve();
  });
  socket.on('error', () => undefined); // a reset after the server dropped it is expected
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  const waitFor = (text: string) =>
    data.includes(text) ? Promise.resolve() : new Promise<void>((resolve) => waiters.push({ text, resolve }));
  return { socket, received: () => data, waitFor, closed };
}
