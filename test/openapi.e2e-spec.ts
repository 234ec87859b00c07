import type { Type } from '@nestjs/common';
import { getSchemaPath } from '@nestjs/swagger';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import { ErrorCode } from '../src/common/errors';
import { resetState, sql, startApp, TestApp } from './utils/app';
import { ConformanceChecker, RecordedResponse, toJsonSchema } from './utils/openapi';
import { ControllerRoute, controllerRoutes, Rule, servedRoutes, validationRules } from './utils/openapi-routes';
import { auth, createUser } from './utils/users';

/** The code each error status carries (src/common/errors.ts). */
const CODE_OF: Record<string, string> = {
  '400': ErrorCode.ValidationFailed,
  '401': ErrorCode.Unauthorized,
  '403': ErrorCode.Forbidden,
  '404': ErrorCode.NotFound,
  '409': ErrorCode.Conflict,
  '413': ErrorCode.PayloadTooLarge,
  // A body the parser cannot read as UTF-8 JSON: the client's input, so VALIDATION_FAILED.
  '415': ErrorCode.ValidationFailed,
  '429': ErrorCode.RateLimited,
  '500': ErrorCode.Internal,
  '503': ErrorCode.Unavailable,
};

/** Error statuses whose body is not the error shape, by design. */
const NON_ERROR_BODIES = new Set(['GET /health 503', 'GET /health/ready 503']);

/**
 * The document itself: complete (every route the server dispatches), every operation with
 * a success schema, its errors in the contract's shape, security where a token is needed,
 * no dangling $ref, and request schemas that say what the validation pipe enforces.
 * Real responses are checked against it by every suite that uses startApp (test/utils/app.ts).
 */
describe('OpenAPI document (e2e)', () => {
  let t: TestApp;
  let doc: any;
  let routes: ControllerRoute[];

  beforeAll(async () => {
    await resetState();
    t = await startApp();
    doc = (await t.http().get('/docs-json')).body;
    routes = controllerRoutes(t.app);
  });
  afterAll(() => t.close());

  const operations = (): [string, any][] =>
    Object.entries(doc.paths).flatMap(([path, item]: [string, any]) =>
      Object.entries(item).map(([method, op]) => [`${method.toUpperCase()} ${path}`, op] as [string, any]),
    );

  it('is OpenAPI 3.0 with a bearer security scheme', () => {
    expect(doc.openapi).toMatch(/^3\.0\./);
    expect(doc.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
  });

  it('documents every route the server dispatches', () => {
    const served = servedRoutes(t.app);
    expect(served.length).toBeGreaterThanOrEqual(routes.length);
    const missing = served
      .filter((r) => !doc.paths[r.path]?.[r.method])
      .map((r) => `${r.method.toUpperCase()} ${r.path}`);
    expect({ undocumentedRoutes: missing }).toEqual({ undocumentedRoutes: [] });
    expect(routes.length).toBeGreaterThan(20);
  });

  it('gives every operation a success response with a schema (none for 204)', () => {
    const problems = operations().flatMap(([name, op]) => {
      const ok = Object.keys(op.responses).filter((s) => /^2\d\d$/.test(s));
      if (!ok.length) return [`${name}: no 2xx response`];
      return ok.flatMap((s) => {
        // JSON everywhere but /metrics (text/plain): any media type with a schema will do.
        const content: Record<string, any> = op.responses[s].content ?? {};
        const schema = Object.values(content).find((c) => c?.schema)?.schema;
        if (s === '204') return schema ? [`${name}: 204 with a body schema`] : [];
        return schema ? [] : [`${name}: ${s} has no schema`];
      });
    });
    expect(problems).toEqual([]);
  });

  it("gives every error response the error shape with its status's code", () => {
    const problems = operations().flatMap(([name, op]) =>
      Object.entries(op.responses)
        .filter(([s]) => /^[45]\d\d$/.test(s) && !NON_ERROR_BODIES.has(`${name} ${s}`))
        .flatMap(([s, res]: [string, any]) => {
          const schema = resolve(doc, res.content?.['application/json']?.schema);
          if (!schema) return [`${name} ${s}: no schema`];
          const issues: string[] = [];
          if (!['statusCode', 'code', 'message'].every((k) => schema.required?.includes(k)))
            issues.push('statusCode, code and message must be required');
          if (JSON.stringify(schema.properties?.statusCode?.enum) !== JSON.stringify([Number(s)]))
            issues.push(`statusCode must be [${s}]`);
          if (JSON.stringify(schema.properties?.code?.enum) !== JSON.stringify([CODE_OF[s]]))
            issues.push(`code must be [${CODE_OF[s]}]`);
          if (s === '429' && !res.headers?.['Retry-After']) issues.push('429 needs the Retry-After header');
          return issues.map((i) => `${name} ${s}: ${i}`);
        }),
    );
    expect(problems).toEqual([]);
  });

  it('declares 400, 413, 415, 500 and 503 everywhere: any route can be sent a body', () => {
    const problems = operations().flatMap(([name, op]) =>
      ['400', '413', '415', '500', '503'].filter((s) => !op.responses[s]).map((s) => `${name}: no ${s}`),
    );
    expect(problems).toEqual([]);
  });

  it('marks bearer security and 401 on exactly the routes that need a token', () => {
    const problems = routes.flatMap((r) => {
      const op = doc.paths[r.path]?.[r.method];
      if (!op) return []; // reported by the completeness test
      const name = `${r.method.toUpperCase()} ${r.path}`;
      const secured = JSON.stringify(op.security ?? []) === JSON.stringify([{ bearer: [] }]);
      if (r.isPublic) return op.security?.length ? [`${name}: public but has security`] : [];
      return [
        ...(secured ? [] : [`${name}: needs a token but has no bearer security`]),
        ...(op.responses['401'] ? [] : [`${name}: needs a token but declares no 401`]),
      ];
    });
    expect(problems).toEqual([]);
  });

  it('gives every operation a unique operationId and a tag (generators name methods and classes after them)', () => {
    const ids = operations().map(([, op]) => op.operationId);
    expect(ids.filter((id, i) => !id || ids.indexOf(id) !== i)).toEqual([]);
    expect(
      operations()
        .filter(([, op]) => !op.tags?.length)
        .map(([name]) => name),
    ).toEqual([]);
  });

  it('resolves every $ref', () => {
    const dangling: string[] = [];
    walk(doc, (node, at) => {
      if (typeof node.$ref === 'string' && resolve(doc, node) === undefined) dangling.push(`${at}: ${node.$ref}`);
    });
    expect(dangling).toEqual([]);
  });

  it('has examples that match their own schemas', () => {
    const ajv = new Ajv({ strict: false, allErrors: true });
    addFormats(ajv);
    ajv.addSchema({ $id: 'doc', components: { schemas: toJsonSchema(doc.components.schemas) } });
    const problems: string[] = [];
    let examples = 0;
    walk(doc.components.schemas, (node, at) => {
      if (node.example === undefined) return;
      examples++;
      const { example, ...schema } = node;
      const rebased = JSON.parse(
        JSON.stringify(toJsonSchema(schema)).replace(/"#\/components\//g, '"doc#/components/'),
      );
      if (!ajv.validate(rebased, example)) problems.push(`${at}: ${ajv.errorsText()}`);
    });
    expect(problems).toEqual([]);
    expect(examples).toBeGreaterThan(50);
  });

  it('describes every request body and query field with the rules the validation pipe enforces', () => {
    const problems: string[] = [];
    for (const r of routes) {
      const op = doc.paths[r.path]?.[r.method];
      if (!op) continue;
      const name = `${r.method.toUpperCase()} ${r.path}`;
      if (r.body) {
        const ref = op.requestBody?.content?.['application/json']?.schema;
        const schema = resolve(doc, ref);
        if (!schema) problems.push(`${name}: body ${r.body.name} is not in the document`);
        else problems.push(...compareDto(`${name} body`, r.body, schema.properties ?? {}, schema.required ?? []));
      }
      if (r.query) {
        const params = (op.parameters ?? []).filter((p: any) => p.in === 'query');
        const props = Object.fromEntries(params.map((p: any) => [p.name, p.schema]));
        const required = params.filter((p: any) => p.required).map((p: any) => p.name);
        problems.push(...compareDto(`${name} query`, r.query, props, required));
      }
    }
    expect(problems).toEqual([]);
  });

  it('answers a body sent to a route that takes none with a documented 400 (413 oversized, 415 in UTF-16)', async () => {
    // The responses themselves are checked against the document when the app closes.
    const user = await createUser(t, 'doc_nobody');
    const body = (res: { status: number; body: { code?: string } }) => [res.status, res.body.code];
    const json = (r: any) => r.set(auth(user)).set('Content-Type', 'application/json');
    expect(body(await json(t.http().get('/users/me')).send('{"a":1}'))).toEqual([400, 'VALIDATION_FAILED']);
    const big = JSON.stringify({ pad: 'x'.repeat(300 * 1024) });
    expect(body(await json(t.http().get('/users/me')).send(big))).toEqual([413, 'PAYLOAD_TOO_LARGE']);
    const utf16 = t.http().get('/health/live').set('Content-Type', 'application/json; charset=utf-16');
    expect(body(await utf16.send('{}'))).toEqual([415, 'VALIDATION_FAILED']);
  });

  it('answers a malformed path parameter with a documented 400, and an oversized body with a documented 413', async () => {
    // The responses themselves are checked against the document when the app closes.
    const admin = await createUser(t, 'doc_admin');
    await sql("UPDATE users SET role = 'admin' WHERE id = $1", [admin.id]);
    const big = JSON.stringify({ pad: 'x'.repeat(300 * 1024) });
    const unexpected: string[] = [];
    for (const [name, op] of operations()) {
      const [method, path] = name.split(' ');
      const call = (url: string) => (t.http() as any)[method.toLowerCase()](url).set(auth(admin));
      if ((op.parameters ?? []).some((p: any) => p.in === 'path')) {
        const res = await call(path.replace(/\{\w+\}/g, 'not-an-id'));
        if (res.status !== 400) unexpected.push(`${name} with a malformed path parameter: ${res.status}`);
      }
      if (op.requestBody) {
        const url = path.replace(/\{\w+\}/g, '1');
        const res = await call(url).set('Content-Type', 'application/json').send(big);
        if (res.status !== 413) unexpected.push(`${name} with a 300 KiB body: ${res.status}`);
      }
    }
    expect(unexpected).toEqual([]);
  });

  it('never gives two request DTO classes the same schema name (one would silently replace the other)', () => {
    const classes = new Map<string, Set<Type<unknown>>>();
    for (const r of routes) {
      if (!r.body) continue;
      const name = getSchemaPath(r.body).split('/').pop()!;
      classes.set(name, (classes.get(name) ?? new Set()).add(r.body));
    }
    const shared = [...classes].filter(([, set]) => set.size > 1).map(([name]) => name);
    expect(shared).toEqual([]);
  });

  it('checks recorded responses: undocumented status, wrong body, undocumented field, nullable', () => {
    const checker = new ConformanceChecker(doc);
    const user = { id: 1, username: 'a_b', nickName: 'a', headPic: '', createdAt: new Date().toISOString() };
    const rec = (route: string, status: number, body: unknown): RecordedResponse => ({
      method: 'get',
      url: route,
      route,
      status,
      headers: {},
      contentType: 'application/json',
      body,
    });
    expect(checker.check([rec('/users/me', 200, { ...user, email: null, role: 'user' })])).toEqual([]);
    expect(checker.check([rec('/users/:id', 200, user)])).toEqual([]);
    const bad = checker.check([
      rec('/users/me', 418, {}),
      rec('/users/me', 200, { ...user, email: null }),
      rec('/users/me', 200, { ...user, email: null, role: 'user', password: 'x' }),
      rec('/chatrooms', 401, { statusCode: 401, code: 'FORBIDDEN', message: 'x' }),
    ]);
    expect(bad).toEqual([
      expect.stringContaining('status 418 is not documented'),
      expect.stringContaining("must have required property 'role'"),
      expect.stringContaining('must NOT have additional properties (password)'),
      expect.stringContaining('/code must be equal to one of the allowed values'),
    ]);
  });
});

function resolve(doc: any, node: any): any {
  if (!node || typeof node.$ref !== 'string') return node;
  if (!node.$ref.startsWith('#/')) return undefined;
  return node.$ref
    .slice(2)
    .split('/')
    .reduce((at: any, key: string) => (at === undefined ? undefined : at[key]), doc);
}

function walk(node: any, visit: (node: any, at: string) => void, at = '#'): void {
  if (!node || typeof node !== 'object') return;
  if (!Array.isArray(node)) visit(node, at);
  for (const [k, v] of Object.entries(node)) if (k !== 'example') walk(v, visit, `${at}/${k}`);
}

/** The document's view of one DTO against class-validator's rules for it. */
function compareDto(where: string, dto: Type<unknown>, props: Record<string, any>, required: string[]): string[] {
  const problems: string[] = [];
  const rules = validationRules(dto);
  for (const name of Object.keys(props)) {
    if (!rules.has(name)) problems.push(`${where}: ${name} is documented but the validation pipe rejects it`);
  }
  for (const [name, { optional, rules: list }] of rules) {
    const schema = props[name];
    const at = `${where} ${dto.name}.${name}`;
    if (!schema) {
      problems.push(`${at}: not in the document`);
      continue;
    }
    if (optional === required.includes(name)) problems.push(`${at}: required must be ${!optional}`);
    for (const rule of list) {
      const target = rule.each ? schema.items : schema;
      const issue = target ? mismatch(rule, target) : `${rule.name} applies to items, but there are none`;
      if (issue) problems.push(`${at}: ${issue}`);
    }
  }
  return problems;
}

/** What the document must say for one class-validator rule; undefined when it says it. */
function mismatch(rule: Rule, s: any): string | undefined {
  const [a, b] = rule.constraints as [any, any];
  const expectAll = (pairs: [string, unknown][]) => {
    const wrong = pairs.filter(([k, v]) => JSON.stringify(s[k]) !== JSON.stringify(v));
    return wrong.length
      ? `${rule.name}(${rule.constraints.map((c) => JSON.stringify(c)).join(', ')}) needs ${wrong
          .map(([k, v]) => `${k}: ${JSON.stringify(v)} (has ${JSON.stringify(s[k])})`)
          .join(', ')}`
      : undefined;
  };
  switch (rule.name) {
    case 'isInt':
      return expectAll([['type', 'integer']]);
    case 'isString':
      return expectAll([['type', 'string']]);
    case 'isBoolean':
      return expectAll([['type', 'boolean']]);
    case 'isArray':
      return expectAll([['type', 'array']]);
    case 'min':
      return expectAll([['minimum', a]]);
    case 'max':
      return expectAll([['maximum', a]]);
    case 'isLength':
      return expectAll([
        ['minLength', a],
        ['maxLength', b],
      ]);
    case 'minLength':
      return expectAll([['minLength', a]]);
    case 'maxLength':
      return expectAll([['maxLength', a]]);
    case 'matches':
      return expectAll([['pattern', (a as RegExp).source]]);
    case 'isIn':
      return expectAll([['enum', a]]);
    case 'arrayMinSize':
      return expectAll([['minItems', a]]);
    case 'arrayMaxSize':
      return expectAll([['maxItems', a]]);
    case 'isUuid':
      return expectAll([['format', 'uuid']]);
    case 'isEmail':
      return expectAll([['format', 'email']]);
    case 'isIso8601':
      return expectAll([['format', 'date-time']]);
    default:
      return undefined; // a rule the document cannot express (e.g. a custom check)
  }
}
