import Ajv, { type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import type { NextFunction, Request, RequestHandler, Response } from 'express';

/**
 * Keeps the OpenAPI document honest: every response an e2e suite receives is recorded and
 * checked against the document's schema for its operation and status. The document is
 * OpenAPI 3.0 (what @nestjs/swagger emits by default), whose schemas are not JSON Schema:
 * `nullable` is turned into a `null` type, and objects with declared properties are closed
 * (`additionalProperties: false`) here, so an undocumented field in a response is a failure
 * too. The published document stays open, as clients expect.
 */

type Json = any;

export interface RecordedResponse {
  method: string;
  url: string;
  /** The Express route that answered, e.g. `/chatrooms/:id`; absent when none matched. */
  route?: string;
  status: number;
  headers: Record<string, unknown>;
  contentType: string;
  body: unknown;
}

/** Records every response the app sends (installed by the test helper, never in app code). */
export class ResponseCollector {
  readonly records: RecordedResponse[] = [];

  middleware(): RequestHandler {
    return (req: Request, res: Response, next: NextFunction) => {
      let sent: unknown;
      const send = res.send.bind(res);
      res.send = (body?: unknown) => {
        if (sent === undefined) sent = body;
        return send(body);
      };
      res.on('finish', () => {
        const route = (req.route as { path?: unknown } | undefined)?.path;
        this.records.push({
          method: req.method.toLowerCase(),
          url: req.originalUrl,
          route: typeof route === 'string' ? req.baseUrl + route : undefined,
          status: res.statusCode,
          headers: res.getHeaders(),
          contentType: String(res.getHeader('content-type') ?? ''),
          body: parseBody(sent, String(res.getHeader('content-type') ?? '')),
        });
      });
      next();
    };
  }
}

function parseBody(body: unknown, contentType: string): unknown {
  if (body === undefined || body === null) return undefined;
  const text = Buffer.isBuffer(body) ? body.toString('utf8') : typeof body === 'string' ? body : undefined;
  if (text === undefined) return body;
  if (text === '') return undefined;
  if (!contentType.includes('json')) return text;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** `/chatrooms/:id` and `/chatrooms/{id}` → the document's form. */
export const toOpenApiPath = (route: string) => route.replace(/:(\w+)/g, '{$1}');

/** Paths the documentation itself serves: not operations of the API. */
export const isDocsPath = (path: string) => path === '/docs' || path.startsWith('/docs/') || path.startsWith('/docs-');

/** Checks recorded responses against one OpenAPI document. */
export class ConformanceChecker {
  private readonly ajv: Ajv;
  private readonly validators = new Map<string, ValidateFunction>();
  private readonly templates: { path: string; regex: RegExp; literal: number }[];

  constructor(private readonly doc: Json) {
    this.ajv = new Ajv({ strict: false, allErrors: true });
    addFormats(this.ajv);
    this.ajv.addSchema({ $id: 'doc', components: { schemas: toJsonSchema(doc.components?.schemas ?? {}) } });
    this.templates = Object.keys(doc.paths ?? {}).map((path) => ({
      path,
      regex: new RegExp(`^${path.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{\w+\}/g, '[^/]+')}$`),
      literal: path.replace(/\{\w+\}/g, '').length,
    }));
  }

  /** The document path of a response: the route that answered, else the best template match. */
  pathOf(r: RecordedResponse): string | undefined {
    if (r.route) return toOpenApiPath(r.route);
    const pathname = r.url.split('?')[0];
    const matches = this.templates.filter((t) => t.regex.test(pathname)).sort((a, b) => b.literal - a.literal);
    return matches[0]?.path;
  }

  /** One line per response that the document does not describe. */
  check(records: RecordedResponse[]): string[] {
    const problems: string[] = [];
    for (const r of records) {
      if (r.method === 'options' || r.method === 'head') continue;
      const path = this.pathOf(r);
      const where = `${r.method.toUpperCase()} ${r.url} → ${r.status}`;
      if (!path) {
        if (r.route && !isDocsPath(r.route)) problems.push(`${where}: route ${r.route} is not in the document`);
        continue;
      }
      if (isDocsPath(path)) continue;
      const operation = this.doc.paths[path]?.[r.method];
      if (!operation) {
        if (r.route) problems.push(`${where}: operation ${r.method.toUpperCase()} ${path} is not in the document`);
        continue;
      }
      const op = `${r.method.toUpperCase()} ${path}`;
      const response = operation.responses?.[String(r.status)];
      if (!response) {
        problems.push(`${where}: status ${r.status} is not documented for ${op}; body ${short(r.body)}`);
        continue;
      }
      for (const header of Object.keys(response.headers ?? {})) {
        if (r.headers[header.toLowerCase()] === undefined) problems.push(`${where}: header ${header} is missing`);
      }
      const media = Object.keys(response.content ?? {});
      if (!media.length) {
        if (r.body !== undefined)
          problems.push(`${where}: ${op} declares no body for ${r.status}, got ${short(r.body)}`);
        continue;
      }
      const type = r.contentType.split(';')[0].trim();
      if (!media.includes(type)) {
        problems.push(`${where}: content type "${type}" is not one of the documented ${media.join(', ')}`);
        continue;
      }
      const schema = (response.content[type] as { schema?: Json }).schema;
      if (!schema || type !== 'application/json') continue; // other media types: only the type is checked
      const validate = this.validator(`${op} ${r.status}`, schema);
      if (!validate(r.body)) {
        const errors = (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message}${extra(e.params)}`);
        problems.push(`${where}: body does not match the ${op} ${r.status} schema: ${errors.join('; ')}`);
      }
    }
    return problems;
  }

  /**
   * `METHOD /path status` per documented response these records exercised, one a line
   * (OPENAPI_COVERAGE_FILE=path: which documented responses no suite ever produces).
   */
  covered(records: RecordedResponse[]): string {
    return records
      .map((r) => ({ r, path: this.pathOf(r) }))
      .filter(({ r, path }) => path && this.doc.paths[path]?.[r.method]?.responses?.[String(r.status)])
      .map(({ r, path }) => `${r.method.toUpperCase()} ${path} ${r.status}\n`)
      .join('');
  }

  private validator(key: string, schema: Json): ValidateFunction {
    let v = this.validators.get(key);
    if (!v) {
      v = this.ajv.compile(rebase(toJsonSchema(schema)));
      this.validators.set(key, v);
    }
    return v;
  }
}

function extra(params: Record<string, unknown>): string {
  if ('additionalProperty' in params) return ` (${String(params.additionalProperty)})`;
  if ('allowedValues' in params) return ` (${JSON.stringify(params.allowedValues)})`;
  return '';
}

function short(body: unknown): string {
  const s = JSON.stringify(body) ?? 'nothing';
  return s.length > 300 ? `${s.slice(0, 300)}…` : s;
}

/** Local refs of an inline response schema point into the document added as `doc`. */
function rebase(schema: Json): Json {
  return JSON.parse(JSON.stringify(schema).replace(/"#\/components\//g, '"doc#/components/'));
}

const COMBINATORS = ['allOf', 'anyOf', 'oneOf'];

/**
 * OpenAPI 3.0 schema → JSON Schema for Ajv: `nullable` becomes a null alternative, and
 * objects with declared properties and no combinator are closed, so undocumented fields
 * are reported.
 */
export function toJsonSchema(node: Json): Json {
  if (Array.isArray(node)) return node.map(toJsonSchema);
  if (!node || typeof node !== 'object') return node;
  const out: Json = {};
  for (const [k, v] of Object.entries(node)) {
    if (k === 'example' || k === 'examples' || k === 'discriminator' || k === 'xml') continue;
    out[k] = k === 'enum' || k === 'required' || k === 'default' ? v : toJsonSchema(v);
  }
  if (out.properties && out.additionalProperties === undefined && !COMBINATORS.some((c) => c in out)) {
    out.additionalProperties = false;
  }
  if (out.nullable === true) {
    delete out.nullable;
    if (typeof out.type === 'string' && !out.$ref && !COMBINATORS.some((c) => c in out)) {
      out.type = [out.type, 'null'];
      if (Array.isArray(out.enum)) out.enum = [...out.enum, null];
      return out;
    }
    return { anyOf: [out, { type: 'null' }] };
  }
  delete out.nullable;
  return out;
}
