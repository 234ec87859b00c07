/**
 * The ceiling: bare socket.io doing only what the chat gateway must do at the least
 * (join a room, broadcast to it, ack with a seq), with no auth check, Redis or database
 * (with BASELINE_REDIS_URL: behind the Redis adapter, and nothing else).
 * The harness forks it and runs the same steps against it as against the real server, so
 * "real / baseline" compares the two on the same machine in the same minute.
 *
 * Listens on BASELINE_PORT (0 = any free port) and tells the parent the port over IPC.
 */
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { createAdapter } from '@socket.io/redis-adapter';
import Redis from 'ioredis';
import { Server, type Socket } from 'socket.io';
import { ClientEvent, ServerEvent, TimelineEvent, roomChannel } from '../src/common/constants';

type Ack = (res: unknown) => void;

interface Sender {
  id: number;
  username: string;
  nickName: string;
  headPic: string;
}

const seqs = new Map<number, number>();

/** The sender as the real server would embed it, read from the token without verifying it. */
function senderOf(socket: Socket): Sender {
  try {
    const token = String(socket.handshake.auth?.token ?? '');
    const claims = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()) as {
      sub: number;
      username: string;
    };
    return { id: Number(claims.sub), username: claims.username, nickName: '', headPic: '' };
  } catch {
    return { id: 0, username: 'anonymous', nickName: '', headPic: '' };
  }
}

function onConnection(io: Server, socket: Socket): void {
  const sender = senderOf(socket);
  socket.on(ClientEvent.JoinRoom, (p: { chatroomId: number }, ack?: Ack) => {
    void socket.join(roomChannel(p.chatroomId));
    ack?.({ ok: true, data: { chatroomId: p.chatroomId, lastSeq: seqs.get(p.chatroomId) ?? 0, readSeq: 0 } });
  });
  // The reconnect scenario's catch-up: nothing is stored here, so only the live seqs.
  socket.on(ClientEvent.Sync, (p: { rooms?: { chatroomId: number }[] }, ack?: Ack) => {
    const rooms = (p?.rooms ?? []).map(({ chatroomId }) => ({
      chatroomId,
      messages: [],
      hasMore: false,
      lastSeq: seqs.get(chatroomId) ?? 0,
    }));
    ack?.({ ok: true, data: { rooms } });
  });
  socket.on(
    ClientEvent.SendMessage,
    (p: { chatroomId: number; clientMsgId?: string; message: { type: string; content: string } }, ack?: Ack) => {
      const seq = (seqs.get(p.chatroomId) ?? 0) + 1;
      seqs.set(p.chatroomId, seq);
      const message = {
        id: randomUUID(),
        chatroomId: p.chatroomId,
        seq,
        senderId: sender.id,
        sender,
        type: p.message.type,
        content: p.message.content,
        clientMsgId: p.clientMsgId,
        createdAt: new Date().toISOString(),
      };
      // io.to (not socket.to): like the contract's "the room gets message", the sender's
      // sockets get their copy too, so the fan-out work matches the real server's.
      io.to(roomChannel(p.chatroomId)).emit(ServerEvent.Message, {
        type: TimelineEvent.SendMessage,
        chatroomId: p.chatroomId,
        userId: sender.id,
        message,
      });
      ack?.({ ok: true, data: message });
    },
  );
}

function main(): void {
  const http = createServer((req, res) => {
    res.writeHead(req.url === '/health' ? 200 : 404, { 'content-type': 'application/json' });
    res.end(req.url === '/health' ? '{"status":"ok"}' : '{}');
  });
  const io = new Server(http, { transports: ['websocket'], serveClient: false });
  // BASELINE_REDIS_URL: the same server behind the socket.io Redis adapter (target
  // "baseline-redis"), to tell the adapter's share of the real server's cost from the rest.
  const redisUrl = process.env.BASELINE_REDIS_URL;
  const connections: Redis[] = [];
  if (redisUrl) {
    const pub = new Redis(redisUrl);
    const sub = pub.duplicate();
    connections.push(pub, sub);
    io.adapter(createAdapter(pub, sub));
  }
  io.on('connection', (socket) => onConnection(io, socket));
  http.listen(Number(process.env.BASELINE_PORT ?? 0), '127.0.0.1', () => {
    const address = http.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    if (process.send) process.send({ kind: 'listening', port });
    else console.log(`baseline socket.io server on port ${port}`);
  });
  const stop = () => {
    void io.close();
    for (const c of connections) c.disconnect();
    setTimeout(() => process.exit(0), 500).unref();
  };
  process.on('SIGTERM', stop);
  process.on('disconnect', stop);
}

main();
