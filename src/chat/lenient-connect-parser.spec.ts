import { lenientConnectParser, withObjectAuth } from './lenient-connect-parser';

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
});
