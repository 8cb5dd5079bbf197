// Shared pieces of the benchmarks: what a benchmark gets, what it returns, and latency statistics.

/** What every benchmark receives from bench/run.ts. */
export interface BenchContext {
  /** Connection string of the (freshly recreated, migrated) bench database. */
  readonly url: string;
  /** Short durations and small data, for trying the harness out; results are not written. */
  readonly quick: boolean;
  /** Progress line to stderr. */
  readonly log: (message: string) => void;
  /** Rounds of each repeated figure (at least 3). */
  readonly rounds: number;
  /** Events of the scale round (`--scale-events=N`; default 10 M, 100 k with --quick). */
  readonly scaleEvents?: number;
  /** Records (and returns) the 1-minute load average just before the measured run `what`. */
  readonly loadBefore: (what: string) => number;
}

/** One line of the final table. */
export interface Row {
  readonly bench: string;
  readonly case: string;
  /** Throughput (events/s, requests/s, inserts/s) or a ratio. */
  readonly value?: number;
  readonly unit?: string;
  readonly p50Ms?: number;
  readonly p99Ms?: number;
  /** Failed operations: non-2xx responses, connection errors, failed appends. */
  readonly errors?: number;
  readonly note?: string;
  /** When `value` is the median of several rounds: every round's value (the spread is their range). */
  readonly rounds?: readonly number[];
}

/** A row of issue 13's target table: one figure, before (as the issue measured it), now, the target. */
export interface TargetRow {
  readonly figure: string;
  readonly before: string;
  readonly now: string;
  readonly target: string;
  readonly met: boolean;
}

/** What one benchmark returns: table rows plus every figure for the JSON file. */
export interface Section {
  readonly name: string;
  readonly title: string;
  readonly startedAt: string;
  readonly elapsedSec: number;
  /** 1-minute load average of the machine when the section started and ended (other work on it skews figures). */
  readonly loadAvg: { readonly start: number; readonly end: number };
  /** 1-minute load average just before each measured run of the section. */
  readonly loadBeforeRuns: readonly { readonly what: string; readonly load: number }[];
  readonly rows: Row[];
  readonly figures: Record<string, unknown>;
  /** Its rows of the target table, if it measures a targeted figure. */
  readonly targets?: readonly TargetRow[];
}

/** A benchmark module's entry point. */
export type Benchmark = (ctx: BenchContext) => Promise<Omit<Section, 'name' | 'startedAt' | 'elapsedSec' | 'loadAvg' | 'loadBeforeRuns'>>;

/** Collects latencies (ms) and answers percentiles. */
export class Samples {
  #values = new Float64Array(1024);
  #count = 0;
  #sorted = true;

  push(ms: number): void {
    if (this.#count === this.#values.length) {
      const grown = new Float64Array(this.#values.length * 2);
      grown.set(this.#values);
      this.#values = grown;
    }
    this.#values[this.#count++] = ms;
    this.#sorted = false;
  }

  get count(): number {
    return this.#count;
  }

  /** Nearest-rank percentile, p in [0, 100]. */
  percentile(p: number): number {
    if (this.#count === 0) return Number.NaN;
    const view = this.#values.subarray(0, this.#count);
    if (!this.#sorted) {
      view.sort();
      this.#sorted = true;
    }
    const rank = Math.min(this.#count - 1, Math.max(0, Math.ceil((p / 100) * this.#count) - 1));
    return view[rank]!;
  }

  mean(): number {
    let sum = 0;
    for (let i = 0; i < this.#count; i++) sum += this.#values[i]!;
    return this.#count ? sum / this.#count : Number.NaN;
  }

  /** Adds another collector's samples to this one. */
  merge(other: Samples): void {
    for (const v of other.#values.subarray(0, other.#count)) this.push(v);
  }
}

/** Median and range of the rounds of one figure. */
export interface Spread {
  readonly median: number;
  readonly min: number;
  readonly max: number;
  /** (max - min) / median, as a fraction. */
  readonly relative: number;
}

export function spreadOf(values: readonly number[]): Spread {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  const min = sorted[0]!;
  const max = sorted.at(-1)!;
  return { median, min, max, relative: median ? (max - min) / median : 0 };
}

/** Milliseconds since `start` (a `performance.now()` reading). */
export const since = (start: number): number => performance.now() - start;

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Rounds for the JSON file: 3 significant decimals is plenty for rates and latencies. */
export function round(value: number, digits = 2): number {
  if (!Number.isFinite(value)) return value;
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** Runs `fn` over `items` with at most `concurrency` in flight. */
export async function pool<T>(items: number, concurrency: number, fn: (index: number) => Promise<T>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items) {
      const index = next++;
      await fn(index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items) }, worker));
}
