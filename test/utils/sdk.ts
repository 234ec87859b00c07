import { ChatClient } from '@chat-backend/client';

/**
 * A client of the SDK that reconnects quickly (tests drop connections on purpose), added to
 * `clients` for the suite to close, and connected.
 */
export async function sdkSession(url: string, token: string, clients: ChatClient[]): Promise<ChatClient> {
  const c = new ChatClient({
    url,
    token,
    ackTimeoutMs: 5000,
    socketOptions: { reconnectionDelay: 50, reconnectionDelayMax: 200 },
  });
  clients.push(c);
  await c.connect();
  return c;
}
