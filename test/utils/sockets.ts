import { io, Socket } from 'socket.io-client';

const open = new Set<Socket>();

/** Connects with a token (auth.token); resolves on connect, rejects on connect_error. */
export function connect(url: string, token?: string, opts: Record<string, unknown> = {}): Promise<Socket> {
  const socket = io(url, {
    transports: ['websocket'],
    auth: token ? { token } : {},
    forceNew: true,
    reconnection: false,
    ...opts,
  });
  open.add(socket);
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve(socket));
    socket.once('connect_error', (err) => reject(err));
  });
}

export interface Ack<T = any> {
  ok: boolean;
  data?: T;
  error?: { code: string; message: string; details?: any };
}

/** Emits with an acknowledgement, failing the test if none arrives in time. */
export function emitAck<T = any>(socket: Socket, event: string, payload?: unknown, timeoutMs = 5000): Promise<Ack<T>> {
  return socket.timeout(timeoutMs).emitWithAck(event, payload);
}

/** Collects every payload of `event` on `socket` from now on. */
export function collect<T = any>(socket: Socket, event: string): T[] {
  const got: T[] = [];
  socket.on(event, (p: T) => got.push(p));
  return got;
}

/** Resolves with the first `event` payload matching `pred`. */
export function waitFor<T = any>(
  socket: Socket,
  event: string,
  pred: (p: T) => boolean = () => true,
  timeoutMs = 5000,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.off(event, handler);
      reject(new Error(`no matching "${event}" within ${timeoutMs} ms`));
    }, timeoutMs);
    const handler = (p: T) => {
      if (!pred(p)) return;
      clearTimeout(timer);
      socket.off(event, handler);
      resolve(p);
    };
    socket.on(event, handler);
  });
}

export function closeAllSockets(): void {
  for (const s of open) s.disconnect();
  open.clear();
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
