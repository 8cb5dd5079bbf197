// HTTP figures over several rounds: each round starts every subject (a process of its own), warms it
// up, loads it with the same autocannon settings, stops it; the order rotates from round to round so a
// machine whose load moves hits every subject alike. Medians and ranges come from spreadOf.
import { type BenchContext, type Row, round, spreadOf } from './common.ts';
import { type CpuGroup, cpuBetween, cpuNote, cpuPerOperation, cpuSnapshot, medianCpu } from './cpu.ts';
import { load, type LoadOptions, type LoadResult } from './load.ts';

/** Something HTTP to load: started fresh each round. */
export interface Subject {
  readonly key: string;
  readonly label: string;
  /** Starts the process(es); `stop` ends them. `afterLoad` runs after each measured load (say, waiting for projections). */
  start(): Promise<{ baseUrl: string; stop(): Promise<void>; afterLoad?: () => Promise<Record<string, unknown>> }>;
}

/** One subject's rounds. */
export interface SubjectRuns {
  readonly subject: Subject;
  readonly runs: LoadResult[];
  /** 1-minute load average just before each measured run. */
  readonly loadBefore: number[];
  readonly after: Record<string, unknown>[];
  /** CPU milliseconds per response by process group, per measured run (bench/cpu.ts). */
  readonly cpuMsPerRequest: (Record<CpuGroup, number> | undefined)[];
}

export interface RoundOptions extends Omit<LoadOptions, 'url' | 'durationSec'> {
  /** Path (and query) appended to the subject's base URL; a function to vary it by subject. */
  readonly path: string | ((subject: Subject) => string);
  readonly warmupSec: number;
  readonly durationSec: number;
  readonly rounds: number;
  /** Checked once per subject start, before the warm-up: throws if the subject does not answer as expected. */
  readonly check?: (url: string, subject: Subject) => Promise<void>;
  /** Run before each subject starts (e.g. setting aside what earlier runs left to do). */
  readonly beforeStart?: () => Promise<void>;
}

export async function loadInRounds(
  ctx: BenchContext,
  name: string,
  subjects: readonly Subject[],
  options: RoundOptions,
): Promise<SubjectRuns[]> {
  const results = subjects.map((subject): SubjectRuns => ({ subject, runs: [], loadBefore: [], after: [], cpuMsPerRequest: [] }));
  const { path, warmupSec, durationSec, rounds, check, beforeStart, ...loadOptions } = options;
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < results.length; i++) {
      const entry = results[(i + r) % results.length]!;
      const { subject } = entry;
      await beforeStart?.();
      const started = await subject.start();
      try {
        const url = `${started.baseUrl}${typeof path === 'function' ? path(subject) : path}`;
        await check?.(url, subject);
        await load({ ...loadOptions, url, durationSec: warmupSec });
        const loadAvg = ctx.loadBefore(`${name}: ${subject.label}, round ${r + 1}/${rounds}`);
        const cpuBefore = cpuSnapshot();
        const result = await load({ ...loadOptions, url, durationSec });
        const cpu = cpuPerOperation(cpuBetween(cpuBefore, cpuSnapshot()), result.requests);
        ctx.log(
          `${name}: ${subject.label}, round ${r + 1}: ${round(result.rps, 0)} req/s, p99 ${result.p99Ms} ms, ${result.non2xx + result.errors} errors`,
        );
        entry.runs.push(result);
        entry.loadBefore.push(loadAvg);
        entry.cpuMsPerRequest.push(cpu);
        if (started.afterLoad) entry.after.push(await started.afterLoad());
      } finally {
        await started.stop();
      }
    }
  }
  return results;
}

/** The table row of one subject: median req/s with every round, median p50/p99, CPU per response. */
export function subjectRow(bench: string, runs: SubjectRuns, extra?: string): Row {
  const note = [cpuNote(medianCpu(runs.cpuMsPerRequest), 'response'), extra].filter(Boolean).join('; ');
  const rps = runs.runs.map((r) => r.rps);
  const errors = runs.runs.reduce((s, r) => s + r.non2xx + r.errors, 0);
  const silent = runs.runs.filter((r) => r.requests === 0).length;
  return {
    bench,
    case: runs.subject.label,
    value: spreadOf(rps).median,
    unit: 'req/s',
    p50Ms: spreadOf(runs.runs.map((r) => r.p50Ms)).median,
    p99Ms: spreadOf(runs.runs.map((r) => r.p99Ms)).median,
    errors,
    rounds: rps,
    ...((note || silent) && { note: [silent && `${silent} round(s) got no response at all`, note].filter(Boolean).join('; ') }),
  };
}

/** Per-round ratios of `a` to `b` (rounds pair up in order) and their median. */
export function ratioRow(bench: string, label: string, a: readonly number[], b: readonly number[], note?: string): Row {
  const ratios = a.map((v, i) => v / b[i]!);
  return { bench, case: label, value: spreadOf(ratios).median, unit: '×', rounds: ratios, ...(note && { note }) };
}

/** The JSON figures of one subject. */
export function subjectFigures(runs: SubjectRuns): Record<string, unknown> {
  const rps = spreadOf(runs.runs.map((r) => r.rps));
  return {
    label: runs.subject.label,
    rps: { median: round(rps.median, 1), min: round(rps.min, 1), max: round(rps.max, 1) },
    p99Ms: runs.runs.map((r) => r.p99Ms),
    p50Ms: runs.runs.map((r) => r.p50Ms),
    loadAverageBefore: runs.loadBefore.map((l) => round(l, 2)),
    runs: runs.runs.map((r) => ({ ...r, rps: round(r.rps, 1) })),
    ...(runs.after.length && { after: runs.after }),
    ...(medianCpu(runs.cpuMsPerRequest) && { cpuMsPerResponse: { median: medianCpu(runs.cpuMsPerRequest), runs: runs.cpuMsPerRequest } }),
  };
}
