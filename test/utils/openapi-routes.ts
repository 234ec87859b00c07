import type { INestApplication, Type } from '@nestjs/common';
import { ModulesContainer } from '@nestjs/core';
import { getMetadataStorage } from 'class-validator';
import { IS_PUBLIC } from '../../src/auth/decorators';
import { isDocsPath, toOpenApiPath } from './openapi';

/** What the running application routes, read from Express and from the Nest controllers. */

export interface ServedRoute {
  method: string;
  /** In the document's form: `/chatrooms/{id}`. */
  path: string;
}

/** Every method + path Express would dispatch, the documentation's own pages excluded. */
export function servedRoutes(app: INestApplication): ServedRoute[] {
  const express = app.getHttpAdapter().getInstance() as { router?: { stack: Layer[] } };
  const routes: ServedRoute[] = [];
  for (const layer of express.router?.stack ?? []) {
    const route = layer.route;
    if (!route || typeof route.path !== 'string' || isDocsPath(route.path)) continue;
    for (const [method, on] of Object.entries(route.methods ?? {})) {
      if (on && method !== '_all') routes.push({ method, path: toOpenApiPath(route.path) });
    }
  }
  return routes;
}

interface Layer {
  route?: { path?: unknown; methods?: Record<string, boolean> };
}

export interface ControllerRoute extends ServedRoute {
  controller: string;
  handler: string;
  isPublic: boolean;
  body?: Type<unknown>;
  query?: Type<unknown>;
}

const METHODS = ['get', 'post', 'put', 'delete', 'patch', 'all', 'options', 'head', 'search'];
const BODY = 3;
const QUERY = 4;

/** Every handler of every controller, with its @Public flag and its body / query DTOs. */
export function controllerRoutes(app: INestApplication): ControllerRoute[] {
  const routes: ControllerRoute[] = [];
  for (const module of app.get(ModulesContainer).values()) {
    for (const wrapper of module.controllers.values()) {
      const ctrl = wrapper.metatype as Type<unknown> | null;
      if (!ctrl) continue;
      const base = String(Reflect.getMetadata('path', ctrl) ?? '');
      const proto = ctrl.prototype as Record<string, unknown>;
      for (const handler of Object.getOwnPropertyNames(proto)) {
        const fn = proto[handler];
        if (handler === 'constructor' || typeof fn !== 'function') continue;
        const sub = Reflect.getMetadata('path', fn) as string | string[] | undefined;
        if (sub === undefined) continue;
        const method = METHODS[Reflect.getMetadata('method', fn) as number];
        const isPublic = Boolean(Reflect.getMetadata(IS_PUBLIC, fn) ?? Reflect.getMetadata(IS_PUBLIC, ctrl));
        const args = (Reflect.getMetadata('__routeArguments__', ctrl, handler) ?? {}) as Record<
          string,
          { index: number }
        >;
        const types = (Reflect.getMetadata('design:paramtypes', proto, handler) ?? []) as Type<unknown>[];
        const argOf = (kind: number) => {
          const key = Object.keys(args).find((k) => k.split(':')[0] === String(kind));
          return key ? types[args[key].index] : undefined;
        };
        for (const p of Array.isArray(sub) ? sub : [sub]) {
          const path = toOpenApiPath(`/${[base, p].filter((s) => s && s !== '/').join('/')}`.replace(/\/+/g, '/'));
          if (isDocsPath(path)) continue; // the documents themselves (/docs/asyncapi*), as in servedRoutes
          routes.push({
            method,
            path,
            controller: ctrl.name,
            handler,
            isPublic,
            body: dto(argOf(BODY)),
            query: dto(argOf(QUERY)),
          });
        }
      }
    }
  }
  return routes;
}

function dto(t: Type<unknown> | undefined): Type<unknown> | undefined {
  return t && ![Object, String, Number, Boolean, Array].includes(t as never) ? t : undefined;
}

export interface Rule {
  name: string;
  constraints: unknown[];
  each: boolean;
}

/** class-validator's rules of a DTO, per property; `optional` when a condition may skip them. */
export function validationRules(dtoClass: Type<unknown>): Map<string, { optional: boolean; rules: Rule[] }> {
  const out = new Map<string, { optional: boolean; rules: Rule[] }>();
  for (const m of getMetadataStorage().getTargetValidationMetadatas(dtoClass, '', true, false)) {
    const entry = out.get(m.propertyName) ?? { optional: false, rules: [] };
    if (m.type === 'conditionalValidation') entry.optional = true;
    else if (m.name) entry.rules.push({ name: m.name, constraints: m.constraints ?? [], each: m.each });
    out.set(m.propertyName, entry);
  }
  return out;
}
