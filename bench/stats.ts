/**
 * Latency histograms that load workers fill and the harness merges.
 *
 * Buckets are fixed (10 µs wide below 10 ms, then 1 % wide up to 10 minutes) so that memory
 * stays constant however many samples a step records, two histograms merge by adding counts,
 * and a histogram crosses IPC as a short list of non-empty buckets instead of raw samples.
 * Percentiles are accurate to one bucket: 10 µs or 1 %, whichever is larger.
 */

const LINEAR_LIMIT_MS = 10;
const LINEAR_STEP_MS = 0.01;
const LINEAR_BUCKETS = Math.round(LINEAR_LIMIT_MS / LINEAR_STEP_MS);
const GROWTH = 1.01;
const MAX_MS = 600_000;
const BUCKETS = LINEAR_BUCKETS + Math.ceil(Math.log(MAX_MS / LINEAR_LIMIT_MS) / Math.log(GROWTH)) + 1;

/** What crosses IPC: totals plus the non-empty buckets as [index, count] pairs. */
export interface HistogramData {
  count: number;
  sum: number;
  min: number;
  max: number;
  buckets: [number, number][];
}

/** p50/p95/p99/max in milliseconds; null when the histogram is empty. */
export interface Percentiles {
  p50: number | null;
  p95: number | null;
  p99: number | null;
  max: number | null;
}

function bucketOf(ms: number): number {
  if (ms < LINEAR_LIMIT_MS) return Math.max(0, Math.floor(ms / LINEAR_STEP_MS));
  const i = LINEAR_BUCKETS + Math.floor(Math.log(ms / LINEAR_LIMIT_MS) / Math.log(GROWTH));
  return Math.min(i, BUCKETS - 1);
}

/** The middle of a bucket: the value reported for every sample in it. */
function bucketValue(i: number): number {
  if (i < LINEAR_BUCKETS) return (i + 0.5) * LINEAR_STEP_MS;
  const low = LINEAR_LIMIT_MS * GROWTH ** (i - LINEAR_BUCKETS);
  return (low * (1 + GROWTH)) / 2;
}

export class Histogram {
  private counts = new Uint32Array(BUCKETS);
  count = 0;
  sum = 0;
  min = Infinity;
  max = -Infinity;

  record(ms: number): void {
    this.counts[bucketOf(ms)]++;
    this.count++;
    this.sum += ms;
    if (ms < this.min) this.min = ms;
    if (ms > this.max) this.max = ms;
  }

  merge(data: HistogramData): void {
    for (const [i, c] of data.buckets) this.counts[i] += c;
    this.count += data.count;
    this.sum += data.sum;
    if (data.count > 0) {
      this.min = Math.min(this.min, data.min);
      this.max = Math.max(this.max, data.max);
    }
  }

  /** The value at percentile p (0–100), clamped to the exact min and max seen. */
  percentile(p: number): number | null {
    if (this.count === 0) return null;
    const rank = Math.max(1, Math.ceil((p / 100) * this.count));
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.counts[i];
      if (seen >= rank) return Math.min(this.max, Math.max(this.min, bucketValue(i)));
    }
    return this.max;
  }

  summary(): Percentiles {
    return {
      p50: this.percentile(50),
      p95: this.percentile(95),
      p99: this.percentile(99),
      max: this.count === 0 ? null : this.max,
    };
  }

  toData(): HistogramData {
    const buckets: [number, number][] = [];
    this.counts.forEach((c, i) => {
      if (c > 0) buckets.push([i, c]);
    });
    return { count: this.count, sum: this.sum, min: this.min, max: this.max, buckets };
  }

  static fromData(data: HistogramData[]): Histogram {
    const h = new Histogram();
    for (const d of data) h.merge(d);
    return h;
  }
}

/** Wall-clock milliseconds with sub-millisecond resolution, comparable across processes. */
export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}
