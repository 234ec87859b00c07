import { readdirSync } from 'node:fs';
import path from 'node:path';
import type { MetadataStorage } from 'class-transformer/types/MetadataStorage';
import { getMetadataStorage } from 'class-validator';
import { clientEventsOf } from '../../src/chat/socket-dispatch';

// class-transformer keeps its @Type() registry in a module it does not type for importers.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { defaultMetadataStorage } = require('class-transformer/cjs/storage') as {
  defaultMetadataStorage: MetadataStorage;
};

/**
 * What the fuzz suite knows about an input: built from the running app's OpenAPI document
 * (routes, parameters, body $refs) and from class-validator / class-transformer metadata of
 * the DTOs (exact bounds, nested types), never from a hand-written list of fields.
 */
/** A class constructor, as the validation metadata is keyed. */
export type Ctor = abstract new (...args: any[]) => unknown;

export type Kind = 'int' | 'string' | 'bool' | 'enum' | 'uuid' | 'date' | 'array' | 'object' | 'any';

export interface Field {
  name: string;
  kind: Kind;
  required: boolean;
  min?: number;
  max?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  values?: unknown[];
  items?: Field;
  nested?: Field[];
}

export interface Param extends Field {
  in: 'path' | 'query';
}

export interface Route {
  method: string;
  path: string;
  params: Param[];
  body?: Field[];
  bodyName?: string;
}

type Schema = {
  $ref?: string;
  type?: string;
  format?: string;
  enum?: unknown[];
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  items?: Schema;
  properties?: Record<string, Schema>;
  required?: string[];
};
export interface OpenApiDoc {
  paths: Record<
    string,
    Record<
      string,
      {
        parameters?: { name: string; in: string; required?: boolean; schema?: Schema }[];
        requestBody?: { content?: Record<string, { schema?: Schema }> };
      }
    >
  >;
  components?: { schemas?: Record<string, Schema> };
}

/** Every exported class of src/<feature>/dto/*.ts that carries validation metadata, by name. */
export function loadDtoClasses(srcRoot: string): Map<string, Ctor> {
  const out = new Map<string, Ctor>();
  for (const feature of readdirSync(srcRoot)) {
    const dir = path.join(srcRoot, feature, 'dto');
    let files: string[];
    try {
      files = readdirSync(dir).filter((f) => f.endsWith('.ts') && !f.endsWith('.spec.ts'));
    } catch {
      continue;
    }
    for (const f of files) {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const mod = require(path.join(dir, f)) as Record<string, unknown>;
      for (const v of Object.values(mod)) {
        if (typeof v === 'function' && fieldsOfClass(v as Ctor).length > 0 && !out.has(v.name))
          out.set(v.name, v as Ctor);
      }
    }
  }
  return out;
}

/** Fields of a DTO class from class-validator metadata (bounds) and class-transformer (@Type). */
export function fieldsOfClass(cls: Ctor, seen = new Set<Ctor>()): Field[] {
  if (seen.has(cls)) return [];
  seen.add(cls);
  const metas = getMetadataStorage().getTargetValidationMetadatas(cls, '', true, false);
  const byProp = new Map<string, typeof metas>();
  for (const m of metas) byProp.set(m.propertyName, [...(byProp.get(m.propertyName) ?? []), m]);
  return [...byProp].map(([name, ms]) => {
    const f: Field = { name, kind: 'any', required: !ms.some((m) => m.type === 'conditionalValidation') };
    const item: Field = { name: '0', kind: 'any', required: true };
    for (const m of ms) {
      const target = m.each ? item : f;
      const c = (m.constraints ?? []) as unknown[];
      switch (m.name) {
        case 'isInt':
          target.kind = 'int';
          break;
        case 'min':
          target.min = c[0] as number;
          break;
        case 'max':
          target.max = c[0] as number;
          break;
        case 'isString':
        case 'isEmail':
        case 'matches':
          if (target.kind === 'any') target.kind = 'string';
          break;
        case 'isLength': // @Length's and LengthInCodePoints' rule (it read 'length' before: never matched)
          target.kind = 'string';
          [target.minLength, target.maxLength] = c as number[];
          break;
        case 'maxLength':
          target.maxLength = c[0] as number;
          break;
        case 'isBoolean':
          target.kind = 'bool';
          break;
        case 'isIn':
          target.kind = 'enum';
          target.values = c[0] as unknown[];
          break;
        case 'isUUID':
          target.kind = 'uuid';
          break;
        case 'isISO8601':
        case 'isStrictDate':
          target.kind = 'date';
          break;
        case 'isArray':
          f.kind = 'array';
          break;
        case 'arrayMinSize':
          f.minItems = c[0] as number;
          break;
        case 'arrayMaxSize':
          f.maxItems = c[0] as number;
          break;
      }
      if (m.type === 'nestedValidation') {
        const typeFn = defaultMetadataStorage.findTypeMetadata(cls, name)?.typeFunction;
        const nestedCls = typeFn?.() as Ctor | undefined;
        const nested = nestedCls ? fieldsOfClass(nestedCls, new Set(seen)) : [];
        if (m.each || f.kind === 'array') Object.assign(item, { kind: 'object', nested });
        else Object.assign(f, { kind: 'object', nested });
      }
    }
    if (f.kind === 'array' || item.kind !== 'any') {
      f.kind = 'array';
      f.items = item;
    }
    return f;
  });
}

/** A parameter or schema property from the OpenAPI document (fallback when no DTO is known). */
export function fieldOfSchema(name: string, s: Schema, required: boolean, doc: OpenApiDoc): Field {
  if (s.$ref) {
    const ref = doc.components?.schemas?.[s.$ref.split('/').pop()!] ?? {};
    return { name, kind: 'object', required, nested: fieldsOfSchema(ref, doc) };
  }
  const base = { name, required, min: s.minimum, max: s.maximum, minLength: s.minLength, maxLength: s.maxLength };
  if (s.enum) return { ...base, kind: 'enum', values: s.enum };
  if (s.type === 'number' || s.type === 'integer') return { ...base, kind: 'int' };
  if (s.type === 'boolean') return { ...base, kind: 'bool' };
  if (s.type === 'array') {
    const items = fieldOfSchema('0', s.items ?? {}, true, doc);
    return { ...base, kind: 'array', items, minItems: s.minItems, maxItems: s.maxItems };
  }
  if (s.type === 'object') return { ...base, kind: 'object', nested: fieldsOfSchema(s, doc) };
  if (s.format === 'uuid') return { ...base, kind: 'uuid' };
  if (s.format === 'date-time') return { ...base, kind: 'date' };
  return { ...base, kind: s.type === 'string' ? 'string' : 'any' };
}

function fieldsOfSchema(s: Schema, doc: OpenApiDoc): Field[] {
  return Object.entries(s.properties ?? {}).map(([k, v]) => fieldOfSchema(k, v, (s.required ?? []).includes(k), doc));
}

/**
 * The route table of the running app. A body whose schema names a DTO class uses that class's
 * validation metadata (exact bounds); otherwise the document's own schema.
 */
export function routesOf(doc: OpenApiDoc, dtos: Map<string, Ctor>): Route[] {
  const routes: Route[] = [];
  for (const [p, ops] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(ops)) {
      const params = (op.parameters ?? [])
        .filter((x) => x.in === 'path' || x.in === 'query')
        .map((x) => ({ ...fieldOfSchema(x.name, x.schema ?? {}, !!x.required, doc), in: x.in as 'path' | 'query' }));
      const schema = op.requestBody?.content?.['application/json']?.schema;
      const bodyName = schema?.$ref?.split('/').pop();
      const cls = bodyName ? dtos.get(bodyName) : undefined;
      const body = cls ? fieldsOfClass(cls) : schema ? fieldOfSchema('', schema, true, doc).nested : undefined;
      routes.push({ method: method.toUpperCase(), path: p, params, body, bodyName });
    }
  }
  return routes;
}

/** socket.io events of a gateway class: `@OnClientEvent` name → the payload DTO's fields. */
export function eventsOf(gateway: Ctor): { event: string; fields: Field[] }[] {
  return clientEventsOf(gateway.prototype as object).map(({ event, dto }) => ({
    event,
    fields: dto ? fieldsOfClass(dto) : [],
  }));
}
