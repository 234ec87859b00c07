import {
  clientEvents,
  connectErrorSchema,
  ERROR_CODES,
  messageSchema,
  serverEvents,
  UNAUTHORIZED_HANDSHAKE,
} from '@chat-backend/protocol';

/**
 * The AsyncAPI 3 document of the socket.io interface, built from the protocol package's
 * catalog: the payload and ack schemas the client's types derive from are the ones published
 * here, so the document cannot drift from the code that uses them.
 *
 * socket.io maps onto AsyncAPI as one channel (the default namespace) carrying every event.
 * From the server's point of view a client event is a `receive` operation whose `reply` is
 * the acknowledgement, and a server event is a `send` operation.
 */

/** The JSON Schema keywords the protocol's schemas use. */
export interface SchemaObject {
  readonly title?: string;
  readonly description?: string;
  readonly type?: string | readonly string[];
  readonly properties?: Readonly<Record<string, SchemaObject>>;
  readonly required?: readonly string[];
  readonly items?: SchemaObject;
  readonly oneOf?: readonly SchemaObject[];
  readonly enum?: readonly unknown[];
  readonly const?: unknown;
  readonly minimum?: number;
  readonly minLength?: number;
  readonly format?: string;
  readonly pattern?: string;
}
export interface Ref {
  $ref: string;
}
export interface Operation {
  action: 'send' | 'receive';
  title: string;
  summary: string;
  channel: Ref;
  messages: Ref[];
  reply?: { channel: Ref; messages: Ref[] };
}
export interface MessageObject {
  name: string;
  title: string;
  summary: string;
  payload: Ref;
  'x-socketio-ack'?: boolean;
}
export interface AsyncApiDocument {
  asyncapi: '3.0.0';
  info: { title: string; version: string; description: string; externalDocs: { description: string; url: string } };
  defaultContentType: string;
  servers: Record<
    'chat',
    { host: string; protocol: string; pathname: string; title: string; description: string; security: Ref[] }
  >;
  channels: Record<
    string,
    { address: string; title: string; description: string; servers: Ref[]; messages: Record<string, Ref> }
  >;
  operations: Record<string, Operation>;
  components: {
    messages: Record<string, MessageObject>;
    schemas: Record<string, SchemaObject>;
    securitySchemes: Record<string, { type: string; description: string; [k: string]: string }>;
  };
}

const ref = (path: string): Ref => ({ $ref: path });
const CHANNEL = 'socket';
const capital = (s: string) => s[0].toUpperCase() + s.slice(1);
/** Component keys: a client event's payload, its ack, a server event's payload. */
const keys = {
  payload: (event: string) => event,
  ack: (event: string) => `${event}Ack`,
  server: (event: string) => `${event}Event`,
};

const HANDSHAKE = `Connect with socket.io (path \`/socket.io\`, same port as HTTP) and a JWT access token from
\`POST /auth/login\`, in the handshake's \`auth: {token}\` (preferred), an \`Authorization: Bearer <token>\`
header, or a \`?token=\` query parameter. A missing, bad, expired or revoked token refuses the connection:
the client gets \`connect_error\` whose \`message\` is \`"${UNAUTHORIZED_HANDSHAKE}"\`.

Every client event takes an acknowledgement callback, answered \`{ok: true, data}\` or
\`{ok: false, error: {code, message, details?}}\` with \`code\` one of ${ERROR_CODES.join(', ')}.
An event sent without a callback that fails produces an \`exception\` event instead.

A socket gets a room's timeline (\`message\`, \`typing\`, \`read\`, \`presence\`) only after \`joinRoom\`.
Messages carry a per-room \`seq\` (1, 2, 3, ... without holes): a client that sees a gap, or that
reconnects, asks \`sync\` for everything after the last seq it has.`;

export function buildAsyncApiDocument(host = 'localhost:3000'): AsyncApiDocument {
  return {
    asyncapi: '3.0.0',
    info: {
      title: 'Chat backend: real-time interface',
      version: '1.0.0',
      description: HANDSHAKE,
      externalDocs: { description: 'REST interface (OpenAPI)', url: `http://${host}/docs` },
    },
    defaultContentType: 'application/json',
    servers: {
      chat: {
        host,
        protocol: 'ws',
        pathname: '/socket.io',
        title: 'socket.io (Engine.IO v4, socket.io protocol v5)',
        description: 'The chat server; HTTP and socket.io share the port.',
        security: ['authToken', 'bearerHeader', 'tokenQuery'].map((s) => ref(`#/components/securitySchemes/${s}`)),
      },
    },
    channels: { [CHANNEL]: channel() },
    operations: { ...clientOperations(), ...serverOperations() },
    components: { messages: messages(), schemas: schemas(), securitySchemes: securitySchemes() },
  };
}

function channel(): AsyncApiDocument['channels'][string] {
  const names = [
    ...Object.keys(clientEvents).flatMap((e) => [keys.payload(e), keys.ack(e)]),
    ...Object.keys(serverEvents).map(keys.server),
    'connectError',
  ];
  return {
    address: '/',
    title: 'Default namespace',
    description: 'Every event travels on the default socket.io namespace.',
    servers: [ref('#/servers/chat')],
    messages: Object.fromEntries(names.map((n) => [n, ref(`#/components/messages/${n}`)])),
  };
}

const channelMessage = (key: string) => ref(`#/channels/${CHANNEL}/messages/${key}`);

function clientOperations(): Record<string, Operation> {
  return Object.fromEntries(
    Object.entries(clientEvents).map(([event, spec]) => [
      event,
      {
        action: 'receive',
        title: event,
        summary: spec.summary,
        channel: ref(`#/channels/${CHANNEL}`),
        messages: [channelMessage(keys.payload(event))],
        reply: { channel: ref(`#/channels/${CHANNEL}`), messages: [channelMessage(keys.ack(event))] },
      },
    ]),
  );
}

function serverOperations(): Record<string, Operation> {
  const ops: Record<string, Operation> = Object.fromEntries(
    Object.entries(serverEvents).map(([event, spec]) => [
      `emit${capital(event)}`,
      {
        action: 'send',
        title: event,
        summary: spec.summary,
        channel: ref(`#/channels/${CHANNEL}`),
        messages: [channelMessage(keys.server(event))],
      },
    ]),
  );
  ops.refuseHandshake = {
    action: 'send',
    title: 'connect_error',
    summary: 'The handshake is refused (socket.io CONNECT_ERROR packet); the client does not reconnect by itself.',
    channel: ref(`#/channels/${CHANNEL}`),
    messages: [channelMessage('connectError')],
  };
  return ops;
}

/** The socket.io event name is the message's `name`. */
function messages(): Record<string, MessageObject> {
  const out: Record<string, MessageObject> = {};
  for (const [event, spec] of Object.entries(clientEvents)) {
    out[keys.payload(event)] = {
      name: event,
      title: `${event} (client → server)`,
      summary: spec.summary,
      payload: schemaRef(spec.payload),
    };
    out[keys.ack(event)] = {
      name: event,
      title: `${event} acknowledgement`,
      summary: `The ack callback's argument: \`{ok: true, data}\` or \`{ok: false, error}\`.`,
      payload: schemaRef(spec.ack),
      'x-socketio-ack': true,
    };
  }
  for (const [event, spec] of Object.entries(serverEvents)) {
    out[keys.server(event)] = {
      name: event,
      title: `${event} (server → client)`,
      summary: spec.summary,
      payload: schemaRef(spec.payload),
    };
  }
  out.connectError = {
    name: 'connect_error',
    title: 'connect_error',
    summary: 'What socket.io-client reports when the handshake is refused.',
    payload: schemaRef(connectErrorSchema),
  };
  return out;
}

/** Every named schema once, under its title. */
function schemas(): Record<string, SchemaObject> {
  const all: (SchemaObject & { title: string })[] = [
    messageSchema,
    ...Object.values(clientEvents).flatMap((s) => [s.payload, s.data, s.ack]),
    ...Object.values(serverEvents).map((s) => s.payload),
    connectErrorSchema,
  ];
  return Object.fromEntries(all.map((s) => [s.title, s]));
}

const schemaRef = (schema: { title: string }) => ref(`#/components/schemas/${schema.title}`);

function securitySchemes(): AsyncApiDocument['components']['securitySchemes'] {
  return {
    authToken: {
      type: 'httpApiKey',
      name: 'token',
      in: 'query',
      description:
        "Preferred: the access token in the socket.io handshake's `auth` object, `io(url, {auth: {token}})`. " +
        "(AsyncAPI has no location for socket.io's auth payload; it is sent in the CONNECT packet.)",
    },
    bearerHeader: {
      type: 'http',
      scheme: 'bearer',
      bearerFormat: 'JWT',
      description: '`Authorization: Bearer <token>` on the handshake request (Node clients: `extraHeaders`).',
    },
    tokenQuery: {
      type: 'httpApiKey',
      name: 'token',
      in: 'query',
      description: '`?token=<token>` on the handshake URL.',
    },
  };
}
