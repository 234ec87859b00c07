import * as parser from 'socket.io-parser';
import { jsonTooComplex, UnparsedPayload } from '../common/json-guard';

const CONNECT = String(parser.PacketType.CONNECT);
const EVENT = String(parser.PacketType.EVENT);
const BINARY_EVENT = String(parser.PacketType.BINARY_EVENT);
const BINARY_ACK = String(parser.PacketType.BINARY_ACK);
/** Why a binary event is refused (the payload pipe prefixes "Payload too complex: "). */
export const BINARY_REFUSED = 'binary data (this API takes JSON only)';
/**
 * CONNECT packets one connection may send: a client whose handshake was refused may try
 * again on the same connection (a new token), but each one costs the server a token check,
 * and a probe looped on them at 27,000 a second from four connections.
 */
export const MAX_CONNECTS_PER_CONNECTION = 5;

/**
 * socket.io's parser refuses a handshake whose `auth` is not an object (`auth: "token"`,
 * `auth: []`) by closing the connection: the client sees "transport close" and no reason.
 * This decoder hands such a handshake on with empty auth instead, so the auth middleware
 * refuses it as the contract says (`connect_error` "unauthorized"). Every other packet
 * decodes exactly as before, and the encoder is socket.io's own.
 *
 * It also keeps the server from parsing a packet whose JSON would cost far more than its size
 * says (jsonTooComplex: a 64 KB `[[[[…` frame cost 2 to 10 ms, before the event budget or,
 * in a CONNECT, any token). An event's arguments are then not parsed: the event arrives with
 * an UnparsedPayload, which the gate charges and the payload pipe answers VALIDATION_FAILED
 * through the acknowledgement, as any bad payload. A CONNECT gets empty auth (unauthorized).
 * Any other such packet, and a connection's CONNECT packets past MAX_CONNECTS_PER_CONNECTION,
 * are thrown: socket.io closes the connection, as for any packet it cannot decode. socket.io
 * makes one decoder per connection.
 *
 * Binary packets are never reconstructed: the API takes JSON only, and socket.io's decoder
 * kept a packet's announced attachments (up to 10 frames of maxHttpBufferSize) until the
 * last one came, so a connection without a token that announced 10 and sent 9 held 0.55 MB
 * until its connect timeout, and after a handshake for as long as it stayed. A binary event
 * arrives with an UnparsedPayload (VALIDATION_FAILED through its acknowledgement, as any bad
 * payload), a binary ack is dropped (the server asks clients for no acknowledgement), and
 * their attachments are counted off and dropped as they come.
 */
class LenientConnectDecoder extends parser.Decoder {
  private connects = 0;
  /** Attachments still to come of a binary packet this decoder refused. */
  private dropping = 0;

  override add(obj: unknown): void {
    if (typeof obj !== 'string') {
      if (this.dropping === 0) return super.add(obj); // socket.io refuses it: no binary packet announced it
      this.dropping--;
      return;
    }
    if (this.dropping > 0) throw new Error('packet refused: attachments missing');
    if (obj.startsWith(BINARY_EVENT) || obj.startsWith(BINARY_ACK)) return this.refuseBinary(obj);
    const tooComplex = jsonTooComplex(obj);
    if (obj.startsWith(CONNECT)) {
      if (++this.connects > MAX_CONNECTS_PER_CONNECTION) throw new Error('packet refused: too many CONNECT packets');
      return super.add(withObjectAuth(obj, !tooComplex));
    }
    if (!tooComplex) return super.add(obj);
    const reconstructing = (this as unknown as { reconstructor?: unknown }).reconstructor;
    const event = obj.startsWith(EVENT) && !reconstructing ? unparsedEvent(obj, tooComplex) : undefined;
    if (!event) throw new Error(`packet refused: ${tooComplex}`);
    this.emitReserved('decoded', event);
  }

  /** `5<n>-…` or `6<n>-…`: drops the n attachments to come; an event is answered as refused. */
  private refuseBinary(packet: string): void {
    const dash = packet.indexOf('-');
    const count = dash > 1 && dash <= 3 ? Number(packet.slice(1, dash)) : NaN;
    if (!Number.isInteger(count) || count < 0) throw new Error('packet refused: illegal attachments');
    this.dropping = count;
    if (packet.startsWith(BINARY_ACK)) return;
    const event = unparsedEvent(EVENT + packet.slice(dash + 1), BINARY_REFUSED);
    if (!event) throw new Error('packet refused: not an event');
    this.emitReserved('decoded', event);
  }
}

/**
 * `2[/nsp,][id]["name",…]` as socket.io-parser would decode it, its arguments replaced by an
 * UnparsedPayload; only the event's name is read. Undefined when the packet is not that shape.
 */
export function unparsedEvent(packet: string, reason: string): parser.Packet | undefined {
  let i = 1;
  let nsp = '/';
  if (packet[i] === '/') {
    const comma = packet.indexOf(',', i);
    if (comma < 0) return undefined;
    nsp = packet.slice(i, comma);
    i = comma + 1;
  }
  const idStart = i;
  while (i < packet.length && packet[i] >= '0' && packet[i] <= '9') i++;
  const id = i > idStart ? Number(packet.slice(idStart, i)) : undefined;
  const name = leadingString(packet, i + 1);
  if (packet[i] !== '[' || name === undefined) return undefined;
  return {
    type: parser.PacketType.EVENT,
    nsp,
    ...(id !== undefined ? { id } : {}),
    data: [name, new UnparsedPayload(reason)],
  };
}

/** The JSON string starting at `start`, decoded; undefined if there is none. */
function leadingString(text: string, start: number): string | undefined {
  if (text[start] !== '"') return undefined;
  for (let i = start + 1; i < text.length; i++) {
    if (text[i] === '\\') i++;
    else if (text[i] === '"') {
      try {
        return JSON.parse(text.slice(start, i + 1)) as string;
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

/**
 * `0[/nsp,]<json>` with a payload that is not a JSON object becomes `0[/nsp,]{}`; so does any
 * payload when `readPayload` is false (one too complex to parse, see jsonTooComplex).
 */
export function withObjectAuth(packet: string, readPayload = true): string {
  const nspEnd = packet[1] === '/' ? packet.indexOf(',') : 0;
  if (nspEnd < 0) return packet; // `0/nsp` without a payload: valid as it is
  const json = packet.slice(nspEnd + 1);
  if (json === '') return packet;
  let payload: unknown;
  try {
    payload = readPayload ? JSON.parse(json) : undefined;
  } catch {
    payload = undefined;
  }
  const isObject = typeof payload === 'object' && payload !== null && !Array.isArray(payload);
  return isObject ? packet : `${packet.slice(0, nspEnd + 1)}{}`;
}

export const lenientConnectParser = { Encoder: parser.Encoder, Decoder: LenientConnectDecoder };
