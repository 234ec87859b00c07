/**
 * A readable, self-contained HTML page of the AsyncAPI document (no scripts, no CDN: the
 * server may run without internet access, and a strict CSP stays happy). Each event shows its
 * payload and ack as a compact shape, with the JSON Schema one click away.
 */
import type { AsyncApiDocument, Operation, Ref, SchemaObject } from './asyncapi.document';

const esc = (s: unknown) =>
  String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** Inline code spans of the descriptions (`x`) as <code>, everything else escaped. */
const prose = (s: unknown) =>
  esc(s ?? '')
    .replace(/`([^`]+)`/g, '<code>$1</code>')
    .split(/\n\n+/)
    .map((p) => `<p>${p}</p>`)
    .join('');

/** A TypeScript-like one-look rendering of a JSON Schema. */
export function shape(s: SchemaObject, indent = ''): string {
  if (s.const !== undefined) return JSON.stringify(s.const);
  if (s.enum) return s.enum.map((v) => JSON.stringify(v)).join(' | ');
  if (s.oneOf) return s.oneOf.map((o) => shape(o, indent)).join(`\n${indent}| `);
  if (s.type === 'array') return `${shape(s.items ?? {}, indent)}[]`;
  if (s.type === 'object' || s.properties) {
    const required = new Set(s.required ?? []);
    const inner = indent + '  ';
    const lines = Object.entries(s.properties ?? {}).map(
      ([k, v]) => `${inner}${k}${required.has(k) ? '' : '?'}: ${shape(v, inner)}`,
    );
    return lines.length ? `{\n${lines.join(',\n')}\n${indent}}` : '{}';
  }
  const type = typeof s.type === 'string' ? s.type : (s.type?.join(' | ') ?? 'any');
  const bounds = [
    s.minimum !== undefined ? `≥ ${s.minimum}` : '',
    s.format ? s.format : '',
    s.pattern ? `/${s.pattern}/` : '',
    s.minLength ? `length ≥ ${s.minLength}` : '',
  ].filter(Boolean);
  return bounds.length ? `${type} (${bounds.join(', ')})` : String(type);
}

export function renderAsyncApiPage(doc: AsyncApiDocument): string {
  const { schemas, messages } = doc.components;
  const resolve = (r: Ref) => r.$ref.split('/').pop()!;
  const schemaOf = (msgRef: Ref) => schemas[resolve(messages[resolve(msgRef)].payload)];
  const ops = Object.entries(doc.operations);
  const section = (action: string) =>
    ops
      .filter(([, op]) => op.action === action)
      .map(([id, op]) => {
        const payload = schemaOf(op.messages[0]);
        const ack = op.reply ? schemaOf(op.reply.messages[0]) : undefined;
        return `<section id="${esc(id)}"><h3><code>${esc(op.title)}</code></h3>${prose(op.summary)}
<h4>Payload <small>${esc(payload.title)}</small></h4><pre>${esc(shape(payload))}</pre>${schemaDetails(payload)}
${ack ? `<h4>Acknowledgement <small>${esc(ack.title)}</small></h4><pre>${esc(shape(ack))}</pre>${schemaDetails(ack)}` : ''}</section>`;
      })
      .join('\n');
  const security = Object.entries(doc.components.securitySchemes)
    .map(([k, v]) => `<li><strong>${esc(k)}</strong>: ${prose(v.description)}</li>`)
    .join('');
  const server = doc.servers.chat;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(doc.info.title)}</title><style>${STYLE}</style></head>
<body><main>
<h1>${esc(doc.info.title)} <small>AsyncAPI ${esc(doc.asyncapi)}, v${esc(doc.info.version)}</small></h1>
<p><a href="/docs/asyncapi.json">asyncapi.json</a> · <a href="/docs">REST (OpenAPI)</a></p>
${prose(doc.info.description)}
<h2>Connection</h2><p><code>${esc(server.protocol)}://${esc(server.host)}${esc(server.pathname)}</code>: ${esc(server.description)}</p>
<ul>${security}</ul>
<nav><strong>Client → server:</strong> ${links(ops, 'receive')}<br><strong>Server → client:</strong> ${links(ops, 'send')}</nav>
<h2>Client → server events</h2>${section('receive')}
<h2>Server → client events</h2>${section('send')}
</main></body></html>`;
}

const links = (ops: [string, Operation][], action: string) =>
  ops
    .filter(([, op]) => op.action === action)
    .map(([id, op]) => `<a href="#${esc(id)}"><code>${esc(op.title)}</code></a>`)
    .join(' ');

const schemaDetails = (s: SchemaObject) =>
  `<details><summary>JSON Schema</summary><pre>${esc(JSON.stringify(s, null, 2))}</pre></details>`;

const STYLE = `body{font:15px/1.5 system-ui,sans-serif;margin:0;background:#fafafa;color:#222}
main{max-width:60rem;margin:auto;padding:1rem 2rem}h1 small,h4 small{color:#777;font-weight:normal;font-size:.7em}
section{background:#fff;border:1px solid #ddd;border-radius:6px;padding:.2rem 1rem;margin:1rem 0}
pre{background:#f3f3f3;padding:.6rem;overflow:auto;border-radius:4px}code{background:#f3f3f3;padding:0 .2em}
nav{margin:1rem 0;line-height:2}nav a{margin-right:.5rem}details{margin-bottom:.8rem}`;
