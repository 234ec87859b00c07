import { AppError } from './errors';
import type { FieldError } from './validation';

/** Deepest nesting of objects/arrays a body or socket payload may have (the root is depth 1). */
export const MAX_INPUT_DEPTH = 32;
/**
 * The most items an array and the most fields an object may have, whatever the DTO says.
 * Above every real DTO's own limits (the largest list, a room's members, is 500), and low
 * enough that a refused payload costs little: past them nothing inside is walked, converted
 * or validated, where a `sync` of 1,000 bad rooms cost the main thread 38 ms and answered
 * 372 KB of errors (a hostile-input probe).
 */
export const MAX_INPUT_ITEMS = 1000;
export const MAX_INPUT_FIELDS = 100;
/**
 * Keys that are never meaningful input: those that reach prototypes when code merges or
 * assigns objects (`__proto__`, `constructor`, `prototype`), and every other name an object
 * inherits (`hasOwnProperty`, `toString`, `valueOf`, `__defineGetter__`...). class-validator's
 * whitelist looks keys up on a plain object, where inherited names count as known fields, and
 * class-transformer skips keys whose value on the instance is a function: an unknown
 * `{"toString": 1}` was accepted, where any other unknown field is refused.
 */
const FORBIDDEN_KEYS = new Set(['prototype', ...Object.getOwnPropertyNames(Object.prototype)]);
/** Enough to point at the problem without echoing a whole hostile payload back. */
const MAX_REPORTED = 10;

// NUL, a high surrogate not followed by a low one, or a low surrogate not preceded by a high one.
// eslint-disable-next-line no-control-regex -- matching NUL is the point
const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Why PostgreSQL could not store `s` as text (NUL is refused with 22021; an unpaired
 * surrogate has no UTF-8 form), or undefined when it can.
 */
export function unstorableReason(s: string): string | undefined {
  // Fast path for the usual clean string: two native scans, no regex.
  if ((s as WellFormed).isWellFormed() && !s.includes('\u0000')) return undefined;
  const m = UNSTORABLE.exec(s);
  if (!m) return undefined;
  return m[0] === '\u0000'
    ? 'must not contain NUL (\\u0000) characters'
    : 'must not contain unpaired UTF-16 surrogates';
}

/** Node 20 has String.prototype.isWellFormed (ES2024); the ES2023 lib does not declare it. */
type WellFormed = string & { isWellFormed(): boolean };

const keyProblem = (key: string): string | undefined => {
  const why = unstorableReason(key);
  return why && `key ${why}`;
};

const join = (path: string, key: string | number): string => (path ? `${path}.${key}` : String(key));

/**
 * Checks a value exactly as the client sent it (parsed JSON, query object, path parameter or
 * socket payload), before class-transformer copies it: nesting deeper than `maxDepth`
 * (class-transformer and class-validator recurse, so thousands of levels overflow the
 * stack), arrays and objects larger than any DTO takes, prototype-polluting and inherited
 * keys (FORBIDDEN_KEYS), and strings PostgreSQL cannot store, in keys and values.
 * One iterative walk with an explicit stack, so a hostile value cannot overflow it either.
 * Returns the problems as `[{field, errors}]`, empty when the value is clean.
 */
export function inspectRawInput(value: unknown, root = '', maxDepth = MAX_INPUT_DEPTH): FieldError[] {
  const problems: FieldError[] = [];
  const report = (field: string, error: string) => {
    if (problems.length < MAX_REPORTED) problems.push({ field, errors: [error] });
  };
  const stack: { v: unknown; path: string; depth: number }[] = [{ v: value, path: root, depth: 1 }];
  while (stack.length > 0 && problems.length < MAX_REPORTED) {
    const { v, path, depth } = stack.pop()!;
    if (typeof v === 'string') {
      const why = unstorableReason(v);
      if (why) report(path, why);
      continue;
    }
    if (v === null || typeof v !== 'object') continue;
    if (depth > maxDepth) {
      report(path, `must not be nested more than ${maxDepth} levels deep`);
      continue;
    }
    if (Array.isArray(v)) {
      if (v.length > MAX_INPUT_ITEMS) {
        report(path, `must not have more than ${MAX_INPUT_ITEMS} items`);
        continue;
      }
      for (let i = v.length - 1; i >= 0; i--) stack.push({ v: v[i], path: join(path, i), depth: depth + 1 });
      continue;
    }
    const keys = Object.keys(v);
    if (keys.length > MAX_INPUT_FIELDS) {
      report(path, `must not have more than ${MAX_INPUT_FIELDS} fields`);
      continue;
    }
    const children: typeof stack = [];
    for (const key of keys) {
      const field = join(path, key);
      const bad = FORBIDDEN_KEYS.has(key) ? `the key ${key} is not allowed` : keyProblem(key);
      if (bad) report(field, bad);
      else children.push({ v: (v as Record<string, unknown>)[key], path: field, depth: depth + 1 });
    }
    // Reversed onto the stack, so problems are reported in document order.
    for (let i = children.length - 1; i >= 0; i--) stack.push(children[i]);
  }
  return problems;
}

/** Throws VALIDATION_FAILED naming the offending fields when `inspectRawInput` finds any. */
export function assertCleanInput(value: unknown, root = '', maxDepth = MAX_INPUT_DEPTH): void {
  const problems = inspectRawInput(value, root, maxDepth);
  if (problems.length === 0) return;
  const names = [...new Set(problems.map((p) => p.field || '(payload)'))].join(', ');
  throw AppError.validation(`Invalid fields: ${names}`, problems);
}
