import type { Field, Param } from './fuzz-model';

/** Bytes of one value that leave room for the rest of a socket frame under the 64 KiB default. */
export const WS_FRAME_ROOM = 60_000;
/** Seeded PRNG (mulberry32): the same FUZZ_SEED replays the same cases. */
export function prng(seed: number) {
  let a = seed >>> 0;
  const rnd = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(rnd() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)];
  return { rnd, int, pick };
}
export type Rng = ReturnType<typeof prng>;

/** A JSON token JSON.stringify cannot produce (1e309, -0, 1.0): spliced in by `toJson`. */
export class RawJson {
  constructor(readonly text: string) {}
}

/** JSON text of `v`, with RawJson values written verbatim. */
export function toJson(v: unknown): string {
  const raws: string[] = [];
  const text = JSON.stringify(v, (_k, x: unknown) => {
    if (x instanceof RawJson) {
      raws.push(x.text);
      return `\u0001RAW${raws.length - 1}\u0001`;
    }
    return x;
  });
  return (text ?? 'null').replace(/"\\u0001RAW(\d+)\\u0001"/g, (_m, i: string) => raws[Number(i)]);
}

/** `{"a":{"a":...}}` `levels` deep, built as text so neither side's JSON.stringify recurses. */
export const deepObject = (levels: number) => new RawJson('{"a":'.repeat(levels) + '1' + '}'.repeat(levels));
export const deepArray = (levels: number) => new RawJson('['.repeat(levels) + ']'.repeat(levels));
const protoKeyed = (key: string) => JSON.parse(`{"${key}":{"polluted":true}}`) as unknown;

/** Known-good values the base payloads use, so requests get past auth and reach handlers. */
export interface Ctx {
  roomId: number;
  userId: number;
  otherId: number;
  messageId: string;
  seq: number;
  unique: () => string;
}

/** A valid value for a field, using the real ids of the fuzz fixtures where the name says which. */
export function validValue(f: Field, ctx: Ctx, route = ''): unknown {
  const n = f.name;
  switch (f.kind) {
    case 'int':
      if (/chatroomId/i.test(n)) return ctx.roomId;
      if (/^(userId|senderId|memberIds|userIds|0)$/.test(n)) return ctx.otherId;
      if (/seq/i.test(n)) return ctx.seq;
      if (n === 'limit') return 10;
      return f.min ?? 1;
    case 'string':
      if (n === 'username') return `fz_${ctx.unique()}`;
      if (/password/i.test(n)) return 'correct horse battery';
      if (n === 'email') return `${ctx.unique()}@example.com`;
      if (n === 'clientMsgId') return `fz-${ctx.unique()}`;
      if (n === 'content') return 'fuzz edit';
      return 'x'.repeat(Math.max(1, f.minLength ?? 1));
    case 'bool':
      return true;
    case 'enum':
      return f.values?.[0];
    case 'uuid':
      return ctx.messageId;
    case 'date':
      return '2024-01-01T00:00:00Z';
    case 'array':
      return Array.from({ length: Math.max(1, f.minItems ?? 1) }, () =>
        validValue({ ...f.items!, name: f.items!.name === '0' ? n : f.items!.name }, ctx, route),
      );
    case 'object':
      return validObject(f.nested ?? [], ctx, route);
    default:
      return 'x';
  }
}

/** Required fields with valid values (optional ones are added by the mutations). */
export function validObject(fields: Field[], ctx: Ctx, route = ''): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (const f of fields) if (f.required) o[f.name] = validValue(f, ctx, route);
  return o;
}

const WRONG_TYPES: unknown[] = [
  null,
  true,
  false,
  '',
  'x',
  '1',
  'true',
  0,
  1.5,
  -1,
  [],
  {},
  [1],
  [[]],
  [null],
  { a: 1 },
];
const BIG_INTS: unknown[] = [
  0,
  new RawJson('-0'),
  new RawJson('1.0'),
  2147483647,
  2147483648,
  -2147483649,
  99999999999,
  2 ** 53,
  2 ** 53 + 2,
  new RawJson('1e308'),
  new RawJson('1e309'),
  new RawJson('-1e309'),
  0.5,
];
const HOSTILE_STRINGS = (ws: boolean): unknown[] => [
  '\u0000',
  'a\u0000b',
  '\ud800',
  'x\udc00y',
  '\udfff\ud800',
  '😀',
  ' ',
  "'; DROP TABLE users; --",
  '%00',
  '2024-W01-1',
  '+2024-01-01',
  '2024-02-30',
  '2023-02-29T00:00:00Z',
  '0000-01-01',
  '9999-12-31T23:59:59+14:00',
  '2024-01-01T25:00:00Z',
  'x'.repeat(ws ? 20_000 : 70_000),
];
const DEEP = (ws: boolean): unknown[] => [
  deepObject(33),
  deepObject(ws ? 5_000 : 20_000),
  deepArray(ws ? 10_000 : 100_000),
  protoKeyed('__proto__'),
  protoKeyed('constructor'),
  protoKeyed('prototype'),
  { ['k\u0000']: 1 },
];

/** Values to put in place of a field: wrong types, each bound and one past it, hostile text. */
export function badValues(f: Field, ctx: Ctx, ws: boolean): unknown[] {
  const out: unknown[] = [...WRONG_TYPES];
  if (f.kind === 'int') {
    out.push(...BIG_INTS);
    for (const b of [f.min, f.max]) if (b !== undefined) out.push(b - 1, b, b + 1);
  }
  if (f.kind === 'string' || f.kind === 'enum' || f.kind === 'uuid' || f.kind === 'date') {
    out.push(...HOSTILE_STRINGS(ws));
    // Each bound and one past it, and past the maximum in code points (what a varchar column
    // counts) while validator.js, counting a character and its variation selector as one,
    // sees it within: once a 500. Over a socket, only what fits in a frame: a larger one
    // closes the connection by design (WS_MAX_PAYLOAD_BYTES), with no ack to check.
    const fits = (s: string) => !ws || Buffer.byteLength(s) <= WS_FRAME_ROOM;
    for (const b of [f.minLength, f.maxLength]) {
      if (b !== undefined) out.push(...['y'.repeat(b), 'y'.repeat(b + 1)].filter(fits));
    }
    if (f.maxLength !== undefined) out.push(...['a\uFE0F'.repeat(Math.ceil((f.maxLength + 1) / 2))].filter(fits));
    if (f.kind === 'uuid') out.push(ctx.messageId.toUpperCase(), ctx.messageId.slice(1), `${ctx.messageId}\u0000`);
  }
  if (f.kind === 'array' && f.items) {
    const good = validValue({ ...f.items, name: f.name }, ctx);
    out.push([good, '\u0000'], [good, null], [[good]], [{}], [deepObject(40)]);
    if (f.maxItems !== undefined) out.push(Array.from({ length: f.maxItems + 1 }, () => good));
  }
  if (f.kind === 'object') out.push([validObject(f.nested ?? [], ctx)], 'object');
  out.push(...DEEP(ws));
  return out;
}

/** One structural change of a payload at `path`: remove it, or set it to `value`. */
export function mutate(base: unknown, path: string[], value: unknown, remove = false): unknown {
  if (path.length === 0) return value;
  const copy = (Array.isArray(base) ? [...base] : { ...(base as object) }) as Record<string, unknown>;
  const [head, ...rest] = path;
  if (rest.length === 0) {
    if (remove) delete copy[head];
    else copy[head] = value;
  } else {
    copy[head] = mutate(copy[head] ?? {}, rest, value, remove);
  }
  return copy;
}

/** Every field path of an object spec, nested objects (and array elements of objects) included. */
export function fieldPaths(fields: Field[], prefix: string[] = []): { path: string[]; field: Field }[] {
  return fields.flatMap((f) => {
    const p = [...prefix, f.name];
    const self = [{ path: p, field: f }];
    if (f.kind === 'object') return [...self, ...fieldPaths(f.nested ?? [], p)];
    if (f.kind === 'array' && f.items?.kind === 'object')
      return [...self, ...fieldPaths(f.items.nested ?? [], [...p, '0'])];
    return self;
  });
}

/** The systematic payload cases of an object spec: each field missing, each bad value, whole-payload shapes. */
export function payloadCases(fields: Field[], ctx: Ctx, ws: boolean, route = ''): unknown[] {
  const base = validObject(fields, ctx, route);
  const cases: unknown[] = [base];
  for (const { path, field } of fieldPaths(fields)) {
    const withParents = fillParents(base, path, fields, ctx);
    cases.push(mutate(withParents, path, undefined, true));
    for (const v of badValues(field, ctx, ws)) cases.push(mutate(withParents, path, v));
    if (!field.required) cases.push(mutate(withParents, path, validValue(field, ctx, route)));
  }
  cases.push(
    ...[null, 'x', 42, true, [], [base], deepArray(ws ? 10_000 : 100_000), deepObject(ws ? 5_000 : 20_000)],
    { ...base, unknownField: 1 },
    mutate(base, ['__proto__'], { admin: true }),
    { ...base, ...(protoKeyed('__proto__') as object) },
    { ...base, ...(protoKeyed('constructor') as object) },
    { ...base, ['bad\u0000key']: 1 },
    { ...base, ['\ud800']: 1 },
  );
  return cases;
}

/** Parents of a nested path get valid values, so the change at the leaf is the only one. */
function fillParents(base: Record<string, unknown>, path: string[], fields: Field[], ctx: Ctx): unknown {
  if (path.length < 2) return base;
  const top = fields.find((f) => f.name === path[0]);
  if (!top || base[path[0]] !== undefined) return base;
  return { ...base, [path[0]]: validValue(top, ctx) };
}

/** A random JSON value: the fields' names mixed with junk keys, nested a few levels. */
export function randomJson(r: Rng, names: string[], depth = 0): unknown {
  const scalars: unknown[] = [
    null,
    true,
    false,
    0,
    -1,
    1,
    r.int(3_000_000_000),
    -r.rnd() * 1e20,
    new RawJson('1e309'),
    new RawJson('-0'),
    '',
    'x',
    '\u0000',
    '\ud800',
    String(r.int(100)),
    'true',
    'x'.repeat(r.int(3000)),
  ];
  const roll = r.rnd();
  if (depth > 3 || roll < 0.45) return r.pick(scalars);
  if (roll < 0.65) return Array.from({ length: r.int(4) }, () => randomJson(r, names, depth + 1));
  const keys = [...names, '__proto__', 'constructor', 'zz', ''];
  const o: Record<string, unknown> = {};
  for (let i = r.int(5); i > 0; i--) o[r.pick(keys)] = randomJson(r, names, depth + 1);
  return o;
}

/** Values for a query parameter as raw (already percent-encoded) text. */
export function badQueryValues(p: Param): string[] {
  const out = [
    '',
    'x',
    '-1',
    '0',
    '1',
    '-0',
    '1.5',
    '1e3',
    '1e309',
    'Infinity',
    'NaN',
    '0x10',
    '2147483647',
    '2147483648',
    '99999999999',
    '9007199254740993',
    'true',
    'false',
    'null',
    '%00',
    'a%00b',
    '%ED%A0%80',
    '%F0%9F%98%80',
    '%E0%A4%A',
    'x'.repeat(5000),
    '2024-W01-1',
    '%2B2024-01-01',
    '2024-02-30',
    '2024-01-01',
    '2024-01-01T00%3A00%3A00Z',
    '2024-01-01T00%3A00%3A00',
    '0001-01-01',
    '10000-01-01',
  ];
  for (const b of [p.min, p.max, p.minLength, p.maxLength])
    if (b !== undefined) out.push(String(b - 1), String(b), String(b + 1));
  return out;
}

export const BAD_PATH_VALUES = [
  '0',
  '-1',
  '1',
  '1.5',
  '1e3',
  '-0',
  '2147483647',
  '2147483648',
  '99999999999',
  '9007199254740993',
  'abc',
  '%00',
  '1%00',
  '%ED%A0%80',
  '%E0%A4%A',
  '%25',
  'x'.repeat(3000),
  '00000000-0000-0000-0000-000000000000',
  'ffffffff-ffff-ffff-ffff-ffffffffffff',
  '019a0000-0000-7000-8000-00000000000g',
  '%20',
];
