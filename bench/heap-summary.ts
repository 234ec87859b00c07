/**
 * What the heap holds per connection: two V8 heap snapshots of one process (empty, then with
 * N sockets connected) compared by constructor, per socket. Written by the idle scenario with
 * `--heap-snapshots` (the target gets `--heapsnapshot-signal`); also usable alone:
 *
 *   node --max-old-space-size=4096 dist/bench/heap-summary.js empty.heapsnapshot full.heapsnapshot 10000
 *
 * Self sizes only (what each object occupies itself, not what it keeps alive), grouped as
 * "<node type>:<constructor or function name>", the largest growth first.
 */
import { readFileSync } from 'node:fs';

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
}

export interface HeapGroup {
  group: string;
  count: number;
  bytes: number;
}

/** Total self size and object count per "type:name". */
export function groupHeap(file: string): { total: number; groups: Map<string, { count: number; bytes: number }> } {
  const snap = JSON.parse(readFileSync(file, 'utf8')) as Snapshot;
  const fields = snap.snapshot.meta.node_fields;
  const types = snap.snapshot.meta.node_types[0];
  const [iType, iName, iSize] = ['type', 'name', 'self_size'].map((f) => fields.indexOf(f));
  const stride = fields.length;
  const groups = new Map<string, { count: number; bytes: number }>();
  let total = 0;
  for (let i = 0; i < snap.nodes.length; i += stride) {
    const type = types[snap.nodes[i + iType]];
    // Strings and numbers are grouped by type only: their "name" is their value.
    const name = ['string', 'concatenated string', 'sliced string', 'number', 'hidden'].includes(type)
      ? ''
      : snap.strings[snap.nodes[i + iName]];
    const key = `${type}:${name.slice(0, 60)}`;
    const size = snap.nodes[i + iSize];
    const g = groups.get(key) ?? { count: 0, bytes: 0 };
    g.count++;
    g.bytes += size;
    groups.set(key, g);
    total += size;
  }
  return { total, groups };
}

/** Growth from `before` to `after`, per socket, the largest first. */
export function heapGrowth(before: string, after: string, sockets: number, top = 25): string {
  const a = groupHeap(before);
  const b = groupHeap(after);
  const rows: HeapGroup[] = [];
  for (const [group, g] of b.groups) {
    const was = a.groups.get(group) ?? { count: 0, bytes: 0 };
    rows.push({ group, count: g.count - was.count, bytes: g.bytes - was.bytes });
  }
  rows.sort((x, y) => y.bytes - x.bytes);
  const kib = (n: number) => (n / 1024).toFixed(2);
  const lines = [
    `heap (self sizes): ${kib(a.total)} KiB -> ${kib(b.total)} KiB, ` +
      `${kib((b.total - a.total) / sockets)} KiB per socket over ${sockets} sockets`,
    `  ${'KiB/socket'.padStart(10)} ${'objs/socket'.padStart(11)}  group`,
    ...rows
      .slice(0, top)
      .map(
        (r) => `  ${kib(r.bytes / sockets).padStart(10)} ${(r.count / sockets).toFixed(1).padStart(11)}  ${r.group}`,
      ),
  ];
  return lines.join('\n');
}

if (require.main === module) {
  const [before, after, sockets] = process.argv.slice(2);
  if (!before || !after) {
    console.error('usage: heap-summary.js <before.heapsnapshot> <after.heapsnapshot> [sockets]');
    process.exit(2);
  }
  console.log(heapGrowth(before, after, Number(sockets ?? 1)));
}
