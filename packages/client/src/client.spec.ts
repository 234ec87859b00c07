// The package as built (as its users and the e2e tests take it): its sources use the DOM's types.
import { ChatClient } from '@chat-backend/client';

/** What a socket handler of the client passes on: the events the app sees. */
function seen(client: ChatClient, event: 'read' | 'inbox'): unknown[] {
  const out: unknown[] = [];
  client.on(event, (e: unknown) => void out.push(e));
  return out;
}

/** The client's socket handlers, called as socket.io would (they are private). */
const handlers = (client: ChatClient) => client as unknown as { onRead(e: unknown): void; onInbox(e: unknown): void };

describe('ChatClient: events two instances announce out of order', () => {
  it('passes on only read positions that move forward, per room and member', () => {
    const client = new ChatClient({ url: 'http://127.0.0.1:1' });
    const reads = seen(client, 'read');
    for (const [chatroomId, userId, seq] of [
      [1, 7, 175],
      [1, 7, 180],
      [1, 7, 179], // announced late by another instance
      [1, 7, 180], // a repeat
      [1, 8, 3], // another member
      [2, 7, 1], // another room
      [1, 7, 181],
    ]) {
      handlers(client).onRead({ chatroomId, userId, seq });
    }
    expect(reads).toEqual([
      { chatroomId: 1, userId: 7, seq: 175 },
      { chatroomId: 1, userId: 7, seq: 180 },
      { chatroomId: 1, userId: 8, seq: 3 },
      { chatroomId: 2, userId: 7, seq: 1 },
      { chatroomId: 1, userId: 7, seq: 181 },
    ]);
  });

  it('passes on only inbox counts of a higher version than the last', () => {
    const client = new ChatClient({ url: 'http://127.0.0.1:1' });
    const inbox = seen(client, 'inbox');
    const counts = (unreadCount: number, version: number) => ({
      chatroomId: 1,
      unreadCount,
      totalUnread: unreadCount,
      version,
    });
    for (const e of [counts(3, 10), counts(0, 12), counts(1, 11), counts(1, 12), counts(2, 13)])
      handlers(client).onInbox(e);
    expect(inbox).toEqual([counts(3, 10), counts(0, 12), counts(2, 13)]);
  });
});

describe('ChatClient: frames the server would close the connection for', () => {
  it('refuses an event larger than maxPayloadBytes without sending it, and sends one that fits', async () => {
    const client = new ChatClient({ url: 'http://127.0.0.1:1', maxPayloadBytes: 1000 });
    const emit = jest.fn((_event: string, _payload: unknown, ack: (err: null, res: unknown) => void) =>
      ack(null, { ok: true, data: { rooms: [] } }),
    );
    (client as unknown as { socket: unknown }).socket = { connected: true, timeout: () => ({ emit }) };
    const rooms = Array.from({ length: 100 }, (_, i) => ({ chatroomId: i + 1, afterSeq: 1_000_000 }));
    await expect(client.request('sync', { rooms })).rejects.toMatchObject({
      code: 'PAYLOAD_TOO_LARGE',
      details: { maxPayloadBytes: 1000 },
    });
    expect(emit).not.toHaveBeenCalled();
    await expect(client.request('sync', { rooms: rooms.slice(0, 2) })).resolves.toEqual({ rooms: [] });
    expect(emit).toHaveBeenCalledTimes(1);
    // A payload JSON cannot encode is a rejection, as the promise's contract says, not a throw.
    await expect(client.request('markRead', { chatroomId: 1, seq: 10n as unknown as number })).rejects.toThrow(
      /BigInt/,
    );
  });
});

describe('ChatClient: a send refused because the token ran out', () => {
  it('stays pending with the sends behind it, to go again once the app has logged in and reconnected', async () => {
    const client = new ChatClient({ url: 'http://127.0.0.1:1' });
    const answers: unknown[] = [{ ok: false, error: { code: 'UNAUTHORIZED', message: 'The access token expired' } }];
    const sent: string[] = [];
    const emit = jest.fn((_event: string, payload: { clientMsgId: string }, ack: (err: null, res: unknown) => void) => {
      sent.push(payload.clientMsgId);
      const answer = answers.shift() ?? {
        ok: true,
        data: { id: payload.clientMsgId, chatroomId: 1, seq: sent.length, content: 'x' },
      };
      queueMicrotask(() => ack(null, answer));
    });
    const socket = { connected: true, timeout: () => ({ emit }) };
    (client as unknown as { socket: unknown }).socket = socket;
    const first = client.send(1, 'm1', { clientMsgId: 'c1' });
    const second = client.send(1, 'm2', { clientMsgId: 'c2' });
    await new Promise((r) => setTimeout(r, 10));
    socket.connected = false; // the server closes the connection after its refusal
    expect([first.state, second.state, sent]).toEqual(['pending', 'pending', ['c1']]);
    socket.connected = true; // logged in and connected again
    (client as unknown as { pump(): void }).pump();
    await first.acked;
    await second.acked;
    expect([first.state, second.state, sent]).toEqual(['acked', 'acked', ['c1', 'c1', 'c2']]);
  });
});
