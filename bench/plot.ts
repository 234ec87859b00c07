/**
 * The delivery run as a picture: delivery latency p50 (dashed) and p99 (solid) against the
 * offered rate, one colour per target, on a log latency axis, as a hand-written SVG next to
 * the JSON. With several rounds each point is the median of the rounds that ran that step.
 * Every series is one <path> with data-target and data-stat attributes, so a test can find it.
 */
import { writeFileSync } from 'node:fs';
import { spread } from './goals';
import type { TargetReport } from './targets';

const W = 760;
const H = 440;
const M = { left: 64, right: 170, top: 36, bottom: 52 };
const COLOURS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e'];

export interface Series {
  target: string;
  stat: 'p50' | 'p99';
  points: [rate: number, ms: number][];
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** Per target and statistic, the median latency at each offered rate any round ran. */
export function latencySeries(rounds: TargetReport[][], targets: string[]): Series[] {
  const out: Series[] = [];
  for (const target of targets) {
    const runs = rounds.map((round) => round.find((r) => r.target === target)).filter((r) => r !== undefined);
    const rates = [...new Set(runs.flatMap((r) => r.steps.map((s) => s.rate)))].sort((a, b) => a - b);
    for (const stat of ['p50', 'p99'] as const) {
      const points: [number, number][] = [];
      for (const rate of rates) {
        const m = spread(runs.map((r) => r.steps.find((s) => s.rate === rate)?.delivery[stat])).median;
        if (m !== null) points.push([rate, m]);
      }
      out.push({ target, stat, points });
    }
  }
  return out;
}

function niceLogTicks(lo: number, hi: number): number[] {
  const ticks: number[] = [];
  for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) {
    for (const m of [1, 2, 5]) {
      const v = m * 10 ** e;
      if (v >= lo && v <= hi) ticks.push(v);
    }
  }
  return ticks;
}

function niceLinearTicks(hi: number): number[] {
  const raw = hi / 6;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? raw;
  const ticks: number[] = [];
  for (let v = 0; v <= hi + 1e-9; v += step) ticks.push(Math.round(v * 1000) / 1000);
  return ticks;
}

export function renderSvg(series: Series[], title: string, limitMs?: number): string {
  const all = series.flatMap((s) => s.points);
  const maxRate = Math.max(1, ...all.map(([r]) => r));
  const ys = all.map(([, y]) => Math.max(y, 0.01));
  const yLo = 10 ** Math.floor(Math.log10(Math.min(...ys, limitMs ?? Infinity, 1)));
  const yHi = 10 ** Math.ceil(Math.log10(Math.max(...ys, limitMs ?? 0, 10)));
  const pw = W - M.left - M.right;
  const ph = H - M.top - M.bottom;
  const x = (rate: number) => M.left + (rate / maxRate) * pw;
  const y = (ms: number) =>
    M.top + ph - ((Math.log10(Math.max(ms, yLo)) - Math.log10(yLo)) / (Math.log10(yHi) - Math.log10(yLo))) * ph;
  const f = (v: number) => v.toFixed(1);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<title>${esc(title)}</title>`,
    `<rect x="0" y="0" width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="20" text-anchor="middle" font-size="14">${esc(title)}</text>`,
  ];
  for (const t of niceLinearTicks(maxRate)) {
    parts.push(
      `<line x1="${f(x(t))}" y1="${M.top}" x2="${f(x(t))}" y2="${M.top + ph}" stroke="#eee"/>`,
      `<text x="${f(x(t))}" y="${M.top + ph + 16}" text-anchor="middle">${t}</text>`,
    );
  }
  for (const t of niceLogTicks(yLo, yHi)) {
    parts.push(
      `<line x1="${M.left}" y1="${f(y(t))}" x2="${M.left + pw}" y2="${f(y(t))}" stroke="#eee"/>`,
      `<text x="${M.left - 6}" y="${f(y(t) + 4)}" text-anchor="end">${t}</text>`,
    );
  }
  parts.push(
    `<rect x="${M.left}" y="${M.top}" width="${pw}" height="${ph}" fill="none" stroke="#999"/>`,
    `<text x="${M.left + pw / 2}" y="${H - 12}" text-anchor="middle">offered rate (messages/s)</text>`,
    `<text transform="translate(16 ${M.top + ph / 2}) rotate(-90)" text-anchor="middle">delivery latency (ms, log)</text>`,
  );
  if (limitMs !== undefined) {
    parts.push(
      `<line x1="${M.left}" y1="${f(y(limitMs))}" x2="${M.left + pw}" y2="${f(y(limitMs))}" stroke="#888" stroke-dasharray="2 3"/>`,
      `<text x="${M.left + pw - 4}" y="${f(y(limitMs) - 4)}" text-anchor="end" fill="#888">p99 limit ${limitMs} ms</text>`,
    );
  }
  const targets = [...new Set(series.map((s) => s.target))];
  series.forEach((s) => {
    const colour = COLOURS[targets.indexOf(s.target) % COLOURS.length];
    const d = s.points.map(([r, v], i) => `${i === 0 ? 'M' : 'L'}${f(x(r))} ${f(y(v))}`).join(' ');
    const dash = s.stat === 'p50' ? ' stroke-dasharray="6 4"' : '';
    parts.push(
      `<path data-target="${esc(s.target)}" data-stat="${s.stat}" d="${d || 'M0 0'}" fill="none" stroke="${colour}" stroke-width="2"${dash}/>`,
    );
    for (const [r, v] of s.points) {
      parts.push(`<circle cx="${f(x(r))}" cy="${f(y(v))}" r="2.5" fill="${colour}"/>`);
    }
  });
  targets.forEach((t, i) => {
    const colour = COLOURS[i % COLOURS.length];
    const ly = M.top + 10 + i * 40;
    const lx = M.left + pw + 14;
    parts.push(
      `<line x1="${lx}" y1="${ly}" x2="${lx + 24}" y2="${ly}" stroke="${colour}" stroke-width="2"/>`,
      `<text x="${lx + 30}" y="${ly + 4}">${esc(t)} p99</text>`,
      `<line x1="${lx}" y1="${ly + 16}" x2="${lx + 24}" y2="${ly + 16}" stroke="${colour}" stroke-width="2" stroke-dasharray="6 4"/>`,
      `<text x="${lx + 30}" y="${ly + 20}">${esc(t)} p50</text>`,
    );
  });
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}

export function writePlot(
  file: string,
  rounds: TargetReport[][],
  targets: string[],
  title: string,
  limitMs: number,
): void {
  writeFileSync(file, renderSvg(latencySeries(rounds, targets), title, limitMs));
}
