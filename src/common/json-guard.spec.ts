import { jsonTooComplex, MAX_JSON_CONTAINERS, tooComplexError } from './json-guard';

const nested = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);
const both = (text: string) => [jsonTooComplex(text), jsonTooComplex(Buffer.from(text))];

describe('jsonTooComplex', () => {
  it('passes ordinary payloads, and a thousand ids in one array', () => {
    const ids = JSON.stringify({ messageIds: Array.from({ length: 1000 }, (_, i) => `id-${i}`) });
    for (const text of ['{"chatroomId":5,"message":{"type":"text","content":"hi"}}', ids, '', 'not json']) {
      expect(both(text)).toEqual([undefined, undefined]);
    }
  });

  it('refuses deep nesting by what it costs: its containers', () => {
    expect(both(nested(MAX_JSON_CONTAINERS))).toEqual([undefined, undefined]); // the pipe refuses it, by field
    expect(jsonTooComplex(nested(120_000))).toBe(`more than ${MAX_JSON_CONTAINERS} objects and arrays`);
  });

  it(`refuses more than ${MAX_JSON_CONTAINERS} objects and arrays, however shallow`, () => {
    const shallow = (n: number) => JSON.stringify(Array.from({ length: n - 1 }, () => ({})));
    expect(both(shallow(MAX_JSON_CONTAINERS))).toEqual([undefined, undefined]);
    const reason = `more than ${MAX_JSON_CONTAINERS} objects and arrays`;
    expect(both(shallow(MAX_JSON_CONTAINERS + 1))).toEqual([reason, reason]);
  });

  it('does not count brackets inside strings, escaped quotes included', () => {
    const text = JSON.stringify({ a: '[{'.repeat(50_000), b: '\\"[[[', c: [[1]] });
    expect(both(text)).toEqual([undefined, undefined]);
    // The same brackets outside the string are refused.
    expect(jsonTooComplex(`{"a":"x","b":${'[{'.repeat(50_000)}`)).toBe(
      `more than ${MAX_JSON_CONTAINERS} objects and arrays`,
    );
  });

  it('refuses with VALIDATION_FAILED on the body', () => {
    expect(tooComplexError('more than 2048 objects and arrays').getResponse()).toEqual({
      statusCode: 400,
      code: 'VALIDATION_FAILED',
      message: 'Payload too complex: more than 2048 objects and arrays',
      details: [{ field: 'body', errors: ['must not be more than 2048 objects and arrays'] }],
    });
  });
});
