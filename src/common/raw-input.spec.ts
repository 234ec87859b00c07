import { AppError } from './errors';
import {
  assertCleanInput,
  inspectRawInput,
  MAX_INPUT_DEPTH,
  MAX_INPUT_FIELDS,
  MAX_INPUT_ITEMS,
  unstorableReason,
} from './raw-input';

const nest = (levels: number): unknown => {
  let v: unknown = 1;
  for (let i = 0; i < levels; i++) v = { a: v };
  return v;
};

describe('inspectRawInput', () => {
  it('passes ordinary payloads, emoji (surrogate pairs) included', () => {
    const payload = { chatroomId: 1, message: { type: 'text', content: 'hi 👋 \u00e9' }, rooms: [{ a: [1, null] }] };
    expect(inspectRawInput(payload)).toEqual([]);
    expect(inspectRawInput('plain')).toEqual([]);
    expect(inspectRawInput(undefined)).toEqual([]);
  });

  it('names the path of a NUL byte or an unpaired surrogate, in values and keys', () => {
    expect(inspectRawInput({ message: { content: 'a\u0000b' } })).toEqual([
      { field: 'message.content', errors: ['must not contain NUL (\\u0000) characters'] },
    ]);
    expect(inspectRawInput({ rooms: [{}, { name: 'x\ud800' }] })).toEqual([
      { field: 'rooms.1.name', errors: ['must not contain unpaired UTF-16 surrogates'] },
    ]);
    expect(inspectRawInput({ ['k\u0000']: 1 })[0].field).toBe('k\u0000');
    expect(inspectRawInput('\udc00x', 'id')).toEqual([{ field: 'id', errors: [expect.stringMatching(/surrogate/)] }]);
  });

  it('refuses prototype keys even when JSON.parse made them own properties', () => {
    const parsed = JSON.parse('{"name":"x","__proto__":{"admin":true},"n":{"constructor":1,"prototype":2}}') as unknown;
    expect(inspectRawInput(parsed).map((p) => p.field)).toEqual(['__proto__', 'n.constructor', 'n.prototype']);
  });

  it('refuses every name an object inherits (whitelists would take them for known fields)', () => {
    const inherited = [
      'hasOwnProperty',
      'isPrototypeOf',
      'propertyIsEnumerable',
      'toString',
      'toLocaleString',
      'valueOf',
      '__defineGetter__',
      '__defineSetter__',
      '__lookupGetter__',
      '__lookupSetter__',
    ];
    for (const key of inherited) {
      expect(inspectRawInput({ name: 'z', [key]: 1 })).toEqual([
        { field: key, errors: [`the key ${key} is not allowed`] },
      ]);
      // Nested, in a query object (no prototype) and in a socket payload's inner object alike.
      const query = Object.assign(Object.create(null) as object, { limit: '1', [key]: '1' });
      expect(inspectRawInput(query, 'query').map((p) => p.field)).toEqual([`query.${key}`]);
      expect(inspectRawInput({ message: { type: 'text', [key]: 'x' } }).map((p) => p.field)).toEqual([
        `message.${key}`,
      ]);
    }
    // Only exact names: a field that merely contains one is an ordinary (unknown) field.
    expect(inspectRawInput({ toStringX: 1, HasOwnProperty: 1, valueof: 1 })).toEqual([]);
  });

  it(`allows ${MAX_INPUT_ITEMS} items and ${MAX_INPUT_FIELDS} fields, and refuses one more without walking them`, () => {
    const fields = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, 'ok']));
    expect(inspectRawInput({ list: Array(MAX_INPUT_ITEMS).fill(1), obj: fields(MAX_INPUT_FIELDS) })).toEqual([]);
    // The NUL inside is never reached: the size alone refuses the container.
    const items = [...Array(MAX_INPUT_ITEMS).fill(1), 'a\u0000'];
    expect(inspectRawInput({ list: items })).toEqual([
      { field: 'list', errors: [`must not have more than ${MAX_INPUT_ITEMS} items`] },
    ]);
    expect(inspectRawInput({ obj: { ...fields(MAX_INPUT_FIELDS), bad: 'a\u0000' } })).toEqual([
      { field: 'obj', errors: [`must not have more than ${MAX_INPUT_FIELDS} fields`] },
    ]);
  });

  it(`allows ${MAX_INPUT_DEPTH} levels and refuses one more`, () => {
    expect(inspectRawInput(nest(MAX_INPUT_DEPTH))).toEqual([]);
    const deeper = inspectRawInput(nest(MAX_INPUT_DEPTH + 1));
    expect(deeper).toHaveLength(1);
    expect(deeper[0].field).toBe(Array(MAX_INPUT_DEPTH).fill('a').join('.'));
  });

  it('walks a 100,000-level value without overflowing the stack', () => {
    const deepArray = JSON.parse('['.repeat(100_000) + ']'.repeat(100_000)) as unknown;
    expect(inspectRawInput(deepArray)[0].errors[0]).toMatch(/nested more than 32/);
    expect(inspectRawInput(nest(100_000))).toHaveLength(1);
  });

  it('reports at most 10 problems', () => {
    expect(inspectRawInput(Array.from({ length: 50 }, () => '\u0000'))).toHaveLength(10);
  });
});

describe('assertCleanInput', () => {
  it('throws VALIDATION_FAILED with the fields in details', () => {
    let err: unknown;
    try {
      assertCleanInput({ q: 'a\u0000' }, 'body');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).getResponse()).toEqual({
      statusCode: 400,
      code: 'VALIDATION_FAILED',
      message: 'Invalid fields: body.q',
      details: [{ field: 'body.q', errors: ['must not contain NUL (\\u0000) characters'] }],
    });
  });
});

describe('unstorableReason', () => {
  it('tells NUL and lone surrogates apart and passes well-formed text', () => {
    expect(unstorableReason('ok 😀')).toBeUndefined();
    expect(unstorableReason('\u0000')).toMatch(/NUL/);
    expect(unstorableReason('\ud83d')).toMatch(/surrogate/);
    expect(unstorableReason('\ude00\ud83d')).toMatch(/surrogate/);
  });
});
