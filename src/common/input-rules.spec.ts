import { ArgumentMetadata } from '@nestjs/common';
import { plainToInstance } from 'class-transformer';
import { getMetadataStorage, validateSync } from 'class-validator';
import { AppError } from './errors';
import { IdParamPipe } from './id-param.pipe';
import {
  codePointLength,
  longerThan,
  DISPLAY_NAME_PATTERN,
  hasBidiControl,
  isBlank,
  IsId,
  isMediaUrl,
  IsSeq,
  IsStrictDate,
  isStrictDateTime,
  LengthInCodePoints,
  MAX_INT4,
  MaxCodePoints,
  NoBidiControls,
  QueryInt,
} from './input-rules';

class Probe {
  @IsId()
  id: number;

  @IsSeq()
  seq: number;

  @IsStrictDate()
  from: string;
}

const errorsOf = (plain: Record<string, unknown>) =>
  validateSync(plainToInstance(Probe, { id: 1, seq: 0, from: '2024-01-01', ...plain })).map((e) => e.property);

describe('IsId / IsSeq', () => {
  it.each([1, MAX_INT4])('accepts the id %p', (id) => expect(errorsOf({ id })).toEqual([]));
  it.each([0, -1, -0, MAX_INT4 + 1, 2 ** 53, 1.5, Infinity, NaN, '1', true, null])('refuses the id %p', (id) =>
    expect(errorsOf({ id })).toEqual(['id']),
  );
  it.each([0, MAX_INT4])('accepts the seq %p', (seq) => expect(errorsOf({ seq })).toEqual([]));
  it.each([-1, MAX_INT4 + 1, 0.5, '0'])('refuses the seq %p', (seq) => expect(errorsOf({ seq })).toEqual(['seq']));
});

class QueryProbe {
  @QueryInt()
  @IsId()
  n: number;
}
const query = (n: unknown) => {
  const dto = plainToInstance(QueryProbe, { n });
  return { value: dto.n, errors: validateSync(dto).map((e) => e.property) };
};

describe('QueryInt', () => {
  it.each([
    ['7', 7],
    ['2147483647', MAX_INT4],
  ])('reads the query value %p as %p', (raw, n) => expect(query(raw)).toEqual({ value: n, errors: [] }));
  it.each([
    '1e3',
    '0x10',
    '0b1',
    '0o7',
    ' 7',
    '7 ',
    '',
    '+7',
    '7.0',
    'Infinity',
    '99999999999999999999',
    '007',
    '00',
    '-0',
  ])('leaves %p as it came, for the integer rules to refuse', (raw) =>
    expect(query(raw)).toEqual({ value: raw, errors: ['n'] }),
  );
  it('refuses a repeated parameter (an array) instead of reading its first element', () => {
    expect(query(['7'])).toEqual({ value: ['7'], errors: ['n'] });
  });
  it('reads a negative integer as one, for the range rules to refuse', () => {
    expect(query('-3')).toEqual({ value: -3, errors: ['n'] });
  });
});

describe('IsStrictDate', () => {
  it.each([
    '2024-01-01',
    '2024-02-29',
    '2000-02-29T23:59:59Z',
    '0001-01-01T00:00:00Z',
    '9999-12-31T23:59:59.999+14:00',
    '2024-06-30T12:00:00.123456-05:30',
    '2026-11-30T03:12:09.123Z',
  ])('accepts %p', (from) => expect(errorsOf({ from })).toEqual([]));

  it.each([
    '2024-W01-1',
    '+2024-01-01',
    '+002024-01-01T00:00:00Z',
    '2024-001',
    '20240101',
    '2023-02-29',
    '1900-02-29',
    '2024-13-01',
    '2024-04-31',
    '0000-01-01',
    '2024-01-01T24:00:00Z',
    '2024-01-01T12:60:00Z',
    '2024-01-01T12:00:60Z',
    '2024-01-01T12:00:00',
    '2024-01-01T12:00Z',
    '2024-01-01T12:00:00+15:00',
    '2024-01-01T12:00:00.1234567Z',
    '2024-01-01 12:00:00Z',
    'yesterday',
    '',
    5,
    ['2024-01-01'],
  ])('refuses %p', (from) => expect(errorsOf({ from })).toEqual(['from']));

  it('turns a plain date into midnight UTC', () => {
    expect(plainToInstance(Probe, { from: '2024-03-01' }).from).toBe('2024-03-01T00:00:00Z');
  });

  it('knows leap years below year 100', () => {
    expect(isStrictDateTime('0004-02-29T00:00:00Z')).toBe(true);
    expect(isStrictDateTime('0100-02-29T00:00:00Z')).toBe(false);
  });
});

describe('IdParamPipe', () => {
  const pipe = new IdParamPipe();
  const meta: ArgumentMetadata = { type: 'param', data: 'userId' };

  it.each([
    ['1', 1],
    ['2147483647', MAX_INT4],
    [42, 42],
  ])('turns %p into %p', (raw, n) => expect(pipe.transform(raw, meta)).toBe(n));

  it.each(['0', '2147483648', '99999999999', '-1', '1.5', '1e3', ' 1', 'abc', '', 2 ** 31, 0, 1.5, undefined])(
    'refuses %p naming the parameter',
    (raw) => {
      let err: unknown;
      try {
        pipe.transform(raw, meta);
      } catch (e) {
        err = e;
      }
      expect((err as AppError).getResponse()).toMatchObject({
        statusCode: 400,
        code: 'VALIDATION_FAILED',
        details: [{ field: 'userId', errors: [expect.stringContaining('2147483647')] }],
      });
    },
  );
});

describe('isMediaUrl', () => {
  it.each(['https://example.com/a.png', 'http://10.0.0.5:8080/f?x=1#y', 'HTTPS://EXAMPLE.COM/A'])('takes %p', (url) =>
    expect(isMediaUrl(url)).toBe(true),
  );

  it.each([
    'javascript:alert(1)',
    'data:image/png;base64,AAAA',
    'file:///etc/passwd',
    '/relative.png',
    '//example.com/a.png',
    'https://',
    'https://exa mple.com/a.png',
    'https://example.com/a.png\n',
    ' https://example.com/a.png',
    'ftp://example.com/a.png',
    'https://bank.example@evil.example/a.png',
    'https://user:secret@example.com/a.png',
    'https://:secret@example.com/a.png',
    'https://example.com/\u202egnp.exe',
    'https://example.com/\u2066a.png',
  ])('refuses %p', (url) => expect(isMediaUrl(url)).toBe(false));
});

describe('isBlank', () => {
  it.each(['', ' ', '\t\r\n\v\f', '\u00a0', '\u1680', '\u2000\u200a', '\u2028\u2029', '\u202f\u205f', '\u3000'])(
    'finds whitespace %p blank',
    (s) => expect(isBlank(s)).toBe(true),
  );
  it.each(['\u200b', '\u200c\u200d', '\ufeff', ' \u200b\u3000 '])('finds zero-width %p blank', (s) =>
    expect(isBlank(s)).toBe(true),
  );
  it.each(['\u2060', '\u00ad', '\u200e\u200f', '\u2061', '\u034f', '\ufe0f', '\ufe0e\ufe0f', '\u180e'])(
    'finds the default-ignorable %p blank',
    (s) => expect(isBlank(s)).toBe(true),
  );
  it.each(['\u3164', '\u115f\u1160', '\uffa0', '\u2800', ' \u2800\u3164 '])('finds the filler %p blank', (s) =>
    expect(isBlank(s)).toBe(true),
  );
  it.each(['a', ' a ', '\u3000。', '😀', '\u200ba', '.', '\u2060x'])('finds %p not blank', (s) =>
    expect(isBlank(s)).toBe(false),
  );
});

describe('MaxCodePoints / LengthInCodePoints', () => {
  class Lengths {
    @MaxCodePoints(4)
    max: unknown = 'ok';

    @LengthInCodePoints(2, 4)
    range: unknown = 'ok';

    @MaxCodePoints(2, { each: true })
    tags: unknown = [];
  }
  const messagesOf = (plain: Record<string, unknown>) =>
    validateSync(plainToInstance(Lengths, plain)).map((e) => [e.property, ...Object.values(e.constraints ?? {})]);
  const VS = 'a\uFE0F'; // validator.js: one character; PostgreSQL: two

  it('counts code points, as PostgreSQL does: a variation selector or an emoji half is not free', () => {
    expect(codePointLength(VS.repeat(3))).toBe(6);
    expect(codePointLength('😀é')).toBe(2);
    expect(codePointLength('e\u0301')).toBe(2);
    expect(codePointLength('')).toBe(0);
    expect(codePointLength('x'.repeat(1000), 10)).toBe(11);
  });

  it('longerThan counts code points: 3 emoji are 6 UTF-16 units and 3 characters', () => {
    expect(longerThan('😀😀😀', 3)).toBe(false);
    expect(longerThan('😀😀😀😀', 3)).toBe(true);
    expect(longerThan('abc', 3)).toBe(false);
    expect(longerThan('abcd', 3)).toBe(true);
    // A lone surrogate counts as one (such content is refused before, as unstorable).
    expect(longerThan('\ud800\ud800\ud800', 3)).toBe(false);
  });

  it.each(['', 'abcd', VS.repeat(2), '😀😀😀😀'])('takes %p as at most 4', (max) =>
    expect(messagesOf({ max })).toEqual([]),
  );
  it.each(['abcde', VS.repeat(3), `${VS}${VS}a`, '😀😀😀😀😀'])(
    "refuses %p as longer than 4, with MaxLength's message",
    (max) => expect(messagesOf({ max })).toEqual([['max', 'max must be shorter than or equal to 4 characters']]),
  );

  it.each(['ab', VS, VS.repeat(2), '😀😀'])('takes %p as 2..4', (range) => expect(messagesOf({ range })).toEqual([]));
  it.each([
    ['a', 'range must be longer than or equal to 2 characters'],
    ['', 'range must be longer than or equal to 2 characters'],
    [VS.repeat(3), 'range must be shorter than or equal to 4 characters'],
    [5, 'range must be longer than or equal to 2 and shorter than or equal to 4 characters'],
  ])("refuses %p with Length's message", (range, message) =>
    expect(messagesOf({ range })).toEqual([['range', message]]),
  );

  it('refuses a non-string as MaxLength does', () => expect(messagesOf({ max: 5 })).toHaveLength(1));

  it('checks each element with {each: true}', () => {
    expect(messagesOf({ tags: ['ab', VS] })).toEqual([]);
    expect(messagesOf({ tags: ['ab', VS + 'b'] })).toEqual([
      ['tags', 'each value in tags must be shorter than or equal to 2 characters'],
    ]);
  });

  it("keeps class-validator's rule names and constraints, which the OpenAPI and fuzz checks read", () => {
    const rules = getMetadataStorage()
      .getTargetValidationMetadatas(Lengths, '', true, false)
      .map((m) => [m.propertyName, m.name, m.constraints]);
    expect(rules).toEqual(
      expect.arrayContaining([
        ['max', 'maxLength', [4]],
        ['range', 'isLength', [2, 4]],
      ]),
    );
  });
});

describe('NoBidiControls', () => {
  class Names {
    @NoBidiControls()
    name: unknown = 'ok';

    @NoBidiControls({ each: true })
    names: unknown = [];
  }
  const messagesOf = (plain: Record<string, unknown>) =>
    validateSync(plainToInstance(Names, plain)).map((e) => [e.property, ...Object.values(e.constraints ?? {})]);
  const CODES = ['202A', '202B', '202C', '202D', '202E', '2066', '2067', '2068', '2069'];
  const CONTROLS = CODES.map((hex) => String.fromCodePoint(parseInt(hex, 16)));

  it.each(CODES)('refuses U+%s anywhere in a name', (hex) => {
    const c = String.fromCodePoint(parseInt(hex, 16));
    for (const name of [c, `${c}evil`, `a${c}b`, `ab${c}`]) {
      expect(hasBidiControl(name)).toBe(true);
      expect(messagesOf({ name })).toEqual([
        [
          'name',
          'name must not contain bidirectional override, embedding or isolate characters (U+202A-U+202E, U+2066-U+2069)',
        ],
      ]);
    }
  });

  it.each([
    'alice',
    'שלום',
    'مرحبا',
    'Ali علي',
    '😀 émoji',
    'שלום!\u200f',
    '\u200eabc',
    'ab\u061c',
    '\u2065\u206a',
    '',
  ])('takes %p: right-to-left letters and the direction marks LRM/RLM/ALM are no controls', (name) => {
    expect(hasBidiControl(name)).toBe(false);
    expect(messagesOf({ name })).toEqual([]);
  });

  it('leaves non-strings to @IsString, and checks each element with {each: true}', () => {
    expect(messagesOf({ name: 5, names: ['a', 'b'] })).toEqual([]);
    expect(messagesOf({ names: ['a', 'b\u202e'] })).toEqual([
      [
        'names',
        'each value in names must not contain bidirectional override, embedding or isolate characters (U+202A-U+202E, U+2066-U+2069)',
      ],
    ]);
  });

  it('has a rule name the OpenAPI and fuzz checks can read', () => {
    const rules = getMetadataStorage()
      .getTargetValidationMetadatas(Names, '', true, false)
      .map((m) => [m.propertyName, m.name]);
    expect(rules).toEqual(expect.arrayContaining([['name', 'noBidiControls']]));
  });

  it('refuses the same characters in media URLs (isMediaUrl shares the set)', () => {
    for (const c of CONTROLS) expect(isMediaUrl(`https://example.com/${c}a.png`)).toBe(false);
  });
});

describe('DISPLAY_NAME_PATTERN (the OpenAPI pattern of nickName and room names)', () => {
  const pattern = new RegExp(DISPLAY_NAME_PATTERN, 'u');
  const samples = [
    '',
    ' ',
    '\u200b',
    '\u200e\u200f',
    '\u3000\u2800',
    '\u202eevil',
    'a\u2066b',
    'ok\u2069',
    'alice',
    ' a ',
    'שלום',
    'مرحبا بكم',
    '😀',
    '\u200ba',
    'שלום!\u200f',
    'x'.repeat(100),
    ' '.repeat(50) + 'a' + ' '.repeat(50),
    'a'.repeat(60_000) + '\u202e', // the shape that took the old pattern 5 s
  ];

  it.each(samples)('agrees with IsNotBlank + NoBidiControls on %p', (s) =>
    expect(pattern.test(s)).toBe(!isBlank(s) && !hasBidiControl(s)),
  );
});
