import * as protocol from '@chat-backend/protocol';
import { startApp, TestApp } from './utils/app';

interface ObjectSchema {
  title?: string;
  type?: string;
  properties?: Record<string, unknown>;
  required?: readonly string[];
  allOf?: ObjectSchema[];
  $ref?: string;
}

/**
 * The client package types its REST results from the protocol package's JSON Schemas, and
 * the server documents them in OpenAPI from its response DTOs. Both describe one wire: a
 * schema of the protocol must have the same fields, and the same required ones, as the
 * OpenAPI component of its title, so neither can drift from the other unseen.
 */
describe('protocol REST schemas against the OpenAPI document (e2e)', () => {
  let t: TestApp;
  let components: Record<string, ObjectSchema>;

  beforeAll(async () => {
    t = await startApp();
    components = (await t.http().get('/docs-json')).body.components.schemas;
  });
  afterAll(() => t.close());

  /** Properties and required fields of a component, following allOf and $ref. */
  function shapeOf(schema: ObjectSchema): { props: string[]; required: string[] } {
    const parts = [schema, ...(schema.allOf ?? [])].map((s) => (s.$ref ? components[s.$ref.split('/').pop()!] : s));
    const props = new Set<string>();
    const required = new Set<string>();
    for (const p of parts) {
      const nested = p.allOf ? shapeOf({ ...p, allOf: undefined }) : undefined;
      for (const k of Object.keys(p.properties ?? {})) props.add(k);
      for (const k of p.required ?? []) required.add(k);
      nested?.props.forEach((k) => props.add(k));
    }
    return { props: [...props].sort(), required: [...required].sort() };
  }

  const restSchemas = Object.entries(protocol)
    .filter(([name, value]) => name.endsWith('Schema') && (value as ObjectSchema)?.type === 'object')
    .map(([name, value]) => [name, value as ObjectSchema] as const)
    .filter(([, s]) => s.title)
    // The socket ack's error object ({code, message, details?}) shares its title with the
    // REST error body, which adds statusCode: not the same wire shape.
    .filter(([name]) => name !== 'errorSchema');

  it('finds the schemas to compare', () => {
    expect(restSchemas.map(([, s]) => s.title)).toEqual(
      expect.arrayContaining(['PublicUser', 'User', 'Chatroom', 'ChatroomDetail', 'Inbox', 'Receipt']),
    );
  });

  it('gives every protocol schema that OpenAPI also names the same fields and required fields', () => {
    const compared: string[] = [];
    const problems: string[] = [];
    for (const [name, schema] of restSchemas) {
      const component = components[schema.title!];
      if (!component) continue; // a socket payload, not a REST body
      compared.push(schema.title!);
      const mine = {
        props: Object.keys(schema.properties ?? {}).sort(),
        required: [...(schema.required ?? [])].sort(),
      };
      const theirs = shapeOf(component);
      if (JSON.stringify(mine) !== JSON.stringify(theirs)) {
        problems.push(
          `${name} (${schema.title}): protocol ${JSON.stringify(mine)} vs OpenAPI ${JSON.stringify(theirs)}`,
        );
      }
    }
    expect(problems).toEqual([]);
    expect(compared.length).toBeGreaterThanOrEqual(10);
  });
});
