import * as parser from 'socket.io-parser';

const CONNECT = String(parser.PacketType.CONNECT);

/**
 * socket.io's parser refuses a handshake whose `auth` is not an object (`auth: "token"`,
 * `auth: []`) by closing the connection: the client sees "transport close" and no reason.
 * This decoder hands such a handshake on with empty auth instead, so the auth middleware
 * refuses it as the contract says (`connect_error` "unauthorized"). Every other packet
 * decodes exactly as before, and the encoder is socket.io's own.
 */
class LenientConnectDecoder extends parser.Decoder {
  override add(obj: unknown): void {
    super.add(typeof obj === 'string' && obj.startsWith(CONNECT) ? withObjectAuth(obj) : obj);
  }
}

/** `0[/nsp,]<json>` with a payload that is not a JSON object becomes `0[/nsp,]{}`. */
export function withObjectAuth(packet: string): string {
  const nspEnd = packet[1] === '/' ? packet.indexOf(',') : 0;
  if (nspEnd < 0) return packet; // `0/nsp` without a payload: valid as it is
  const json = packet.slice(nspEnd + 1);
  if (json === '') return packet;
  let payload: unknown;
  try {
    payload = JSON.parse(json);
  } catch {
    payload = undefined;
  }
  const isObject = typeof payload === 'object' && payload !== null && !Array.isArray(payload);
  return isObject ? packet : `${packet.slice(0, nspEnd + 1)}{}`;
}

export const lenientConnectParser = { Encoder: parser.Encoder, Decoder: LenientConnectDecoder };
