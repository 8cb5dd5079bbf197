// The final table and bench/results/<YYYY-MM-DD>.json.
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { type Row, type Section, round, spreadOf } from './common.ts';

const RESULTS_DIR = fileURLToPath(new URL('./results/', import.meta.url));

/** Where and on what the run happened. */
export interface Environment {
  readonly cpus: number;
  readonly cpuModel: string;
  readonly memoryGiB: number;
  readonly node: string;
  readonly platform: string;
  readonly postgres: {
    readonly serverVersion: string;
    readonly source: string;
    readonly database: string;
    readonly settings: Record<string, string>;
  };
}

export function environment(db: {
  serverVersion: string;
  source: string;
  database: string;
  settings: Record<string, string>;
}): Environment {
  return {
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    memoryGiB: round(os.totalmem() / 2 ** 30, 1),
    node: process.version,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    postgres: { serverVersion: db.serverVersion, source: db.source, database: db.database, settings: db.settings },
  };
}

function formatValue(row: Row): string {
  if (row.value === undefined) return '';
  if (row.unit === '×') return `${row.value.toFixed(2)}×`;
  if (row.unit === 's') return `${row.value.toFixed(1)} s`;
  const digits = row.value >= 100 ? 0 : 1;
  return `${row.value.toFixed(digits)} ${row.unit ?? ''}`.trim();
}

/** The range of a figure's rounds, e.g. `598–640 (3)`, or `±4% (3)` for ratios. */
function formatRounds(row: Row): string {
  if (!row.rounds?.length) return '';
  const { min, max } = spreadOf(row.rounds);
  const digits = row.unit === '×' ? 2 : max >= 100 ? 0 : 1;
  return `${min.toFixed(digits)}–${max.toFixed(digits)} (${row.rounds.length})`;
}

const ms = (v: number | undefined) => (v === undefined || Number.isNaN(v) ? '' : v >= 100 ? `${v.toFixed(0)} ms` : `${v.toFixed(2)} ms`);

/** A plain-text table of every row of every section. */
export function formatTable(sections: readonly Section[], env: Environment): string {
  const header = ['benchmark', 'case', 'throughput / figure', 'rounds: range (n)', 'p50', 'p99', 'errors', 'note'];
  const lines: string[][] = [header];
  for (const section of sections) {
    for (const row of section.rows) {
      lines.push([
        row.bench,
        row.case,
        formatValue(row),
        formatRounds(row),
        ms(row.p50Ms),
        ms(row.p99Ms),
        row.errors === undefined ? '' : String(row.errors),
        row.note ?? '',
      ]);
    }
  }
  const widths = header.map((_, i) => Math.max(...lines.map((l) => l[i]!.length)));
  const fmt = (l: string[]) =>
    l
      .map((cell, i) => (i >= 2 && i <= 6 ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  const rule = widths.map((w) => '-'.repeat(w)).join('  ');
  const out = [fmt(lines[0]!), rule];
  let previous = '';
  for (const l of lines.slice(1)) {
    if (previous && l[0] !== previous) out.push('');
    previous = l[0]!;
    out.push(fmt(l));
  }
  out.push(
    '',
    `${env.cpus} CPUs (${env.cpuModel}), ${env.memoryGiB} GiB, Node ${env.node}, PostgreSQL ${env.postgres.serverVersion} (${env.postgres.source}, ` +
      `fsync=${env.postgres.settings.fsync ?? '?'}, synchronous_commit=${env.postgres.settings.synchronous_commit ?? '?'})`,
    `figures with rounds: the median of the rounds; the range is their lowest–highest`,
    `machine load (1-min average, section start→end; before its measured runs lowest–highest): ${sections
      .map((s) => {
        const before = s.loadBeforeRuns.map((l) => l.load);
        return `${s.name} ${s.loadAvg.start}→${s.loadAvg.end}${before.length ? ` [${Math.min(...before)}–${Math.max(...before)}]` : ''}`;
      })
      .join(', ')}`,
  );
  return out.join('\n');
}

/** Issue 13's target table: figure | before | now | target | met? */
export function formatTargets(sections: readonly Section[], quick: boolean): string {
  const header = ['figure', 'before (issue 13)', 'now', 'target', 'met?'];
  const lines = [
    header,
    ...sections.flatMap((s) => s.targets ?? []).map((t) => [t.figure, t.before, t.now, t.target, t.met ? 'yes' : 'NO']),
  ];
  if (lines.length === 1) return '';
  const widths = header.map((_, i) => Math.max(...lines.map((l) => l[i]!.length)));
  const fmt = (l: string[]) => `| ${l.map((cell, i) => cell.padEnd(widths[i]!)).join(' | ')} |`;
  return [
    `Targets (issue 13)${quick ? ' — QUICK run: smaller data and shorter runs, indicative only' : ''}`,
    fmt(header),
    `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`,
    ...lines.slice(1).map(fmt),
  ].join('\n');
}

/** Issue 26's table: each figure as the issue measured it ("now" there) beside this run's, and the goal. */
const ISSUE_26: readonly {
  readonly figure: string;
  readonly then: string;
  readonly goal: string;
  readonly find: (sections: readonly Section[]) => string | undefined;
}[] = [
  {
    figure: 'POST /bookings, 64 conns, npm start / floor',
    then: '0.14× (1158 vs 7996 req/s), p99 159 ms',
    goal: '≥ 0.5×, p99 ≤ 50 ms',
    find: (s) => targetNow(s, 'POST /bookings')?.split('; ')[0],
  },
  {
    figure: 'same, serve --no-worker + worker',
    then: '0.08×, p99 252 ms',
    goal: '≥ the one-process figure',
    find: (s) => targetNow(s, 'POST /bookings')?.split('; ')[1],
  },
  {
    figure: 'GET /bookings at 100 k, 16 conns / floor',
    then: '0.85×, p99 19 ms (floor 17 ms)',
    goal: '≥ 0.9×, p99 ≤ 1.2× the floor',
    find: (s) => targetNow(s, 'GET /bookings'),
  },
  {
    figure: 'confirmations, 1 → 4 worker processes',
    then: '677 → 498 jobs/s',
    goal: '≥ 1,000 jobs/s; more workers never slower',
    find: (s) => targetNow(s, 'confirmations sent'),
  },
  { figure: 'rebuild 1 M events', then: '27.9 k ev/s', goal: '≥ 50 k ev/s', find: (s) => targetNow(s, 'projection rebuild') },
  {
    figure: 'append vs emmett-postgresql (1 / 16 writers)',
    then: '1.02× / 1.78×',
    goal: '≥ 1.5× at both',
    find: (s) => {
      const rows = s.find((x) => x.name === 'append')?.rows.filter((r) => r.case.startsWith('ratio ours/emmett')) ?? [];
      return rows.length
        ? rows.map((r) => `${r.value?.toFixed(2)}× (${r.case.slice('ratio ours/emmett, '.length)})`).join(' / ')
        : undefined;
    },
  },
];

/** The `now` of the first target (outside the scale round) whose figure starts with `prefix`. */
function targetNow(sections: readonly Section[], prefix: string): string | undefined {
  return sections
    .filter((s) => s.name !== 'scale')
    .flatMap((s) => s.targets ?? [])
    .find((t) => t.figure.startsWith(prefix))?.now;
}

/**
 * The throughput figures the scale round repeats: the run's row (`bench`, case starting with `case`) and
 * the scale round's (bench `scale <bench>`, or `scaled` where the round reports it under its own name).
 */
const REPEATED: readonly { readonly label: string; readonly bench: string; readonly case: string; readonly scaled?: string }[] = [
  { label: 'POST /bookings (`npm start`)', bench: 'http-create', case: '`npm start`' },
  { label: 'GET /bookings (`npm start`)', bench: 'list-bookings', case: 'GET /bookings 7-day range, limit 50' },
  { label: 'Twilio missed-call webhook', bench: 'webhook', case: 'POST /webhooks/twilio/voice' },
  { label: 'rebuild (1 M events → the scale round’s 10 M)', bench: 'rebuild', case: 'rebuild bookings projection', scaled: 'scale' },
];

/**
 * Cost growth (issue 26 item 4): each figure the scale round repeats, as this run's 100 k figure divided by
 * its figure on the grown database (1.0× is flat; above 1.2× the cost grew with the data).
 */
export function flatness(sections: readonly Section[]): { figure: string; now: string; growth: number }[] {
  const rows = sections.flatMap((s) => s.rows);
  const value = (bench: string, prefix: string) => rows.find((r) => r.bench === bench && r.case.startsWith(prefix))?.value;
  return REPEATED.flatMap(({ label, bench, case: prefix, scaled }) => {
    const a = value(bench, prefix);
    const b = value(scaled ?? `scale ${bench}`, prefix);
    if (!a || !b) return [];
    const growth = a / b;
    return [{ figure: `cost growth at scale: ${label}`, now: `${growth.toFixed(2)}× (${round(a, 0)} → ${round(b, 0)} per s)`, growth }];
  });
}

/** Issue 26's table with this run's figures beside the issue's, then the scale round's (if it ran). */
export function formatIssue26(sections: readonly Section[], quick: boolean): string {
  const header = ['figure', 'now (issue 26)', 'this run', 'goal'];
  const lines = [header, ...ISSUE_26.map((r) => [r.figure, r.then, r.find(sections) ?? 'not run', r.goal])];
  const scale = sections.find((s) => s.name === 'scale');
  for (const t of scale?.targets ?? []) lines.push([t.figure, t.before, t.now, t.target]);
  for (const f of flatness(sections)) lines.push([f.figure, 'not measured', f.now, '≤ 1.2× (flat)']);
  const disk = scale?.figures.disk as { bytesPerEvent?: number; bytesPerBooking?: number } | undefined;
  if (disk)
    lines.push([
      'disk per event / per booking (scale round)',
      'not measured',
      `${disk.bytesPerEvent} B / ${disk.bytesPerBooking} B`,
      'reported',
    ]);
  const widths = header.map((_, i) => Math.max(...lines.map((l) => l[i]!.length)));
  const fmt = (l: string[]) => `| ${l.map((cell, i) => cell.padEnd(widths[i]!)).join(' | ')} |`;
  return [
    `Issue 26${quick ? ' — QUICK run: smaller data and shorter runs, indicative only' : ''}`,
    fmt(header),
    `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`,
    ...lines.slice(1).map(fmt),
  ].join('\n');
}

function serialisable(rows: readonly Row[]) {
  return rows.map((r) => ({
    ...r,
    ...(r.value !== undefined && { value: round(r.value, r.unit === '×' ? 3 : 1) }),
    ...(r.p50Ms !== undefined && { p50Ms: round(r.p50Ms, 3) }),
    ...(r.p99Ms !== undefined && { p99Ms: round(r.p99Ms, 3) }),
    ...(r.rounds && { rounds: r.rounds.map((v) => round(v, r.unit === '×' ? 3 : 1)) }),
  }));
}

/**
 * Writes bench/results/<UTC date>.json. A run of some benchmarks only merges its sections into that
 * day's file (each section keeps its own time and environment); a full run replaces the file.
 */
export async function writeResults(sections: readonly Section[], env: Environment, full: boolean, startedAt: Date): Promise<string> {
  await fs.mkdir(RESULTS_DIR, { recursive: true });
  const file = `${RESULTS_DIR}${startedAt.toISOString().slice(0, 10)}.json`;
  let benchmarks: Record<string, unknown> = {};
  if (!full && existsSync(file)) {
    try {
      const previous = JSON.parse(await fs.readFile(file, 'utf8')) as { benchmarks?: Record<string, unknown> };
      benchmarks = previous.benchmarks ?? {};
    } catch {
      benchmarks = {};
    }
  }
  for (const s of sections) {
    benchmarks[s.name] = {
      title: s.title,
      startedAt: s.startedAt,
      elapsedSec: round(s.elapsedSec, 1),
      loadAvg1m: s.loadAvg,
      loadAvg1mBeforeRuns: s.loadBeforeRuns,
      environment: env,
      rows: serialisable(s.rows),
      ...(s.targets && { targets: s.targets }),
      figures: s.figures,
    };
  }
  const document = {
    generatedAt: new Date().toISOString(),
    command: `npm run bench${full ? '' : ` -- ${sections.map((s) => s.name).join(' ')}`}`,
    cpus: env.cpus,
    node: env.node,
    postgresServerVersion: env.postgres.serverVersion,
    environment: env,
    benchmarks,
  };
  await fs.writeFile(file, `${JSON.stringify(document, null, 2)}\n`);
  return file;
}
