import { MAX_JSON_CONTAINERS, UnparsedPayload } from '../common/json-guard';
import {
  BINARY_REFUSED,
  lenientConnectParser,
  MAX_CONNECTS_PER_CONNECTION,
  withObjectAuth,
} from './lenient-connect-parser';

describe('lenientConnectParser', () => {
  it.each([
    ['0["tok"]', '0{}'],
    ['0"tok"', '0{}'],
    ['042', '0{}'],
    ['0null', '0{}'],
    ['0{broken', '0{}'],
    ['0/admin,[1]', '0/admin,{}'],
  ])('gives the handshake %p empty auth: %p', (raw, expected) => expect(withObjectAuth(raw)).toBe(expected));

  it.each(['0', '0{"token":"t"}', '0/admin,', '0/admin,{"token":"t"}', '0/admin'])('leaves %p as it is', (raw) =>
    expect(withObjectAuth(raw)).toBe(raw),
  );

  it('decodes with empty auth where socket.io refuses the packet, and every other packet as before', () => {
    const decoded: unknown[] = [];
    const decoder = new lenientConnectParser.Decoder();
    decoder.on('decoded', (p: unknown) => decoded.push(p));
    decoder.add('0["tok"]');
    decoder.add('0{"token":"t"}');
    decoder.add('2["sendMessage",{"a":1}]');
    expect(decoded).toEqual([
      { type: 0, nsp: '/', data: {} },
      { type: 0, nsp: '/', data: { token: 't' } },
      { type: 2, nsp: '/', data: ['sendMessage', { a: 1 }] },
    ]);
    // Everything else socket.io refuses is still refused.
    expect(() => decoder.add('2"not an array"')).toThrow('invalid payload');
  });

  it('does not parse an event whose JSON holds too many objects and arrays: its payload is an UnparsedPayload', () => {
    const decoded: { type: number; nsp: string; id?: number; data?: unknown }[] = [];
    const decoder = new lenientConnectParser.Decoder();
    decoder.on('decoded', (p) => decoded.push(p));
    const deep = '['.repeat(30_000) + ']'.repeat(30_000);
    const reason = `more than ${MAX_JSON_CONTAINERS} objects and arrays`;
    decoder.add(`2["sendMessage",${deep}]`);
    decoder.add(`2/admin,17["sync",${JSON.stringify(Array.from({ length: 3000 }, () => ({})))}]`);
    decoder.add(`2["say \\"hi\\"",${deep}]`);
    expect(decoded).toEqual([
      { type: 2, nsp: '/', data: ['sendMessage', new UnparsedPayload(reason)] },
      { type: 2, nsp: '/admin', id: 17, data: ['sync', new UnparsedPayload(reason)] },
      { type: 2, nsp: '/', data: ['say "hi"', new UnparsedPayload(reason)] },
    ]);
    expect((decoded[0].data as unknown[])[1]).toBeInstanceOf(UnparsedPayload);
    // A CONNECT gets empty auth; any other packet that shape, or an event without a name, is refused.
    decoder.add(`0{"token":${deep}}`);
    expect(decoded.at(-1)).toEqual({ type: 0, nsp: '/', data: {} });
    expect(() => decoder.add(`3["x",${deep}]`)).toThrow(`packet refused: ${reason}`);
    expect(() => decoder.add(`2[${deep}]`)).toThrow(`packet refused: ${reason}`);
  });

  it(`closes a connection (its decoder throws) at CONNECT number ${MAX_CONNECTS_PER_CONNECTION + 1}`, () => {
    const decoder = new lenientConnectParser.Decoder();
    let decoded = 0;
    decoder.on('decoded', () => decoded++);
    for (let i = 0; i < MAX_CONNECTS_PER_CONNECTION; i++) decoder.add('0{"token":"t"}');
    expect(() => decoder.add('0{"token":"t"}')).toThrow('packet refused: too many CONNECT packets');
    expect(decoded).toBe(MAX_CONNECTS_PER_CONNECTION);
    decoder.add('2["typing",{}]'); // other packets are not counted
    expect(decoded).toBe(MAX_CONNECTS_PER_CONNECTION + 1);
  });

  it('refuses binary events and drops their attachments as they come, keeping none', () => {
    const decoded: { type: number; nsp: string; id?: number; data?: unknown }[] = [];
    const decoder = new lenientConnectParser.Decoder();
    decoder.on('decoded', (p) => decoded.push(p));
    const frame = Buffer.alloc(64 * 1024);
    // An event announcing 10 attachments, 9 of them sent: answered at once, nothing kept.
    decoder.add('510-/admin,7["sendMessage",{"content":{"_placeholder":true,"num":0}}]');
    for (let i = 0; i < 9; i++) decoder.add(frame);
    expect(decoded).toEqual([
      { type: 2, nsp: '/admin', id: 7, data: ['sendMessage', new UnparsedPayload(BINARY_REFUSED)] },
    ]);
    expect((decoder as unknown as { reconstructor?: unknown }).reconstructor).toBeFalsy();
    decoder.add(frame); // the tenth
    // A binary ack is dropped with its attachment; then packets decode as before.
    decoder.add('61-3[{"_placeholder":true,"num":0}]');
    decoder.add(frame);
    decoder.add('2["typing",{"a":1}]');
    expect(decoded.at(-1)).toEqual({ type: 2, nsp: '/', data: ['typing', { a: 1 }] });
    expect(decoded).toHaveLength(2);
    // Binary data nothing announced, text where attachments are due, and broken headers close the connection.
    expect(() => decoder.add(frame)).toThrow();
    decoder.add('51-["x",{"_placeholder":true,"num":0}]');
    expect(() => decoder.add('2["typing",{}]')).toThrow('packet refused: attachments missing');
    expect(() => new lenientConnectParser.Decoder().add('5x-["x"]')).toThrow('packet refused: illegal attachments');
    expect(() => new lenientConnectParser.Decoder().add('51-"x"')).toThrow('packet refused: not an event');
  });
});
