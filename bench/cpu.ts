// Where a measured run's CPU went, read from /proc: the CPU seconds every process used between two
// snapshots, grouped by what the process is — PostgreSQL (every `postgres` process: backends, WAL
// writer, checkpointer), the service under test (`bin/callsnare.js`), the floor server, and the rest.
// Divided by the requests or jobs of the run, it gives the profile issue 26 quotes ("4.4 ms Node +
// 4.4 ms PostgreSQL CPU per create"). Linux only: elsewhere the snapshot is empty and no figure is given.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { round, spreadOf } from './common.ts';

/** What a process is, for the CPU split. */
export type CpuGroup = 'postgres' | 'service' | 'floor' | 'other';

/** CPU seconds per process at one moment. */
export type CpuSnapshot = ReadonlyMap<number, { readonly group: CpuGroup; readonly seconds: number }>;

/** Clock ticks per second: USER_HZ, 100 on every Linux this runs on. */
const TICKS = 100;

function groupOf(pid: string, comm: string): CpuGroup {
  if (comm === 'postgres') return 'postgres';
  let cmdline = '';
  try {
    cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return 'other';
  }
  if (cmdline.includes('bin/callsnare.js')) return 'service';
  if (cmdline.includes('floor-server')) return 'floor';
  return 'other';
}

/** Every process's CPU seconds so far (user + system). */
export function cpuSnapshot(): CpuSnapshot {
  const snapshot = new Map<number, { group: CpuGroup; seconds: number }>();
  if (os.platform() !== 'linux' || !existsSync('/proc/self/stat')) return snapshot;
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      continue; // gone meanwhile
    }
    // "pid (comm) state ppid …": comm may hold spaces and parentheses, so split after its last ')'.
    const close = stat.lastIndexOf(')');
    const comm = stat.slice(stat.indexOf('(') + 1, close);
    const fields = stat.slice(close + 2).split(' ');
    // After comm: state is field 3, utime 14 and stime 15 (proc(5)), so indexes 11 and 12 here.
    const seconds = (Number(fields[11]) + Number(fields[12])) / TICKS;
    snapshot.set(Number(pid), { group: groupOf(pid, comm), seconds });
  }
  return snapshot;
}

/** CPU seconds per group used between `before` and `after` (processes that started meanwhile count from 0). */
export function cpuBetween(before: CpuSnapshot, after: CpuSnapshot): Record<CpuGroup, number> {
  const used: Record<CpuGroup, number> = { postgres: 0, service: 0, floor: 0, other: 0 };
  for (const [pid, now] of after) used[now.group] += now.seconds - (before.get(pid)?.seconds ?? 0);
  return used;
}

/** CPU milliseconds per operation, by group (rounded to 0.01 ms); undefined when /proc gave nothing. */
export function cpuPerOperation(used: Record<CpuGroup, number>, operations: number): Record<CpuGroup, number> | undefined {
  if (!operations || Object.values(used).every((v) => v === 0)) return undefined;
  const per = (seconds: number) => Math.round((seconds * 1000 * 100) / operations) / 100;
  return { postgres: per(used.postgres), service: per(used.service), floor: per(used.floor), other: per(used.other) };
}

/** The median per group over several runs' {@link cpuPerOperation}; undefined when none was measured. */
export function medianCpu(runs: readonly (Record<CpuGroup, number> | undefined)[]): Record<CpuGroup, number> | undefined {
  const measured = runs.filter((c) => c !== undefined);
  if (!measured.length) return undefined;
  const median = (group: CpuGroup) => round(spreadOf(measured.map((c) => c[group])).median, 2);
  return { postgres: median('postgres'), service: median('service'), floor: median('floor'), other: median('other') };
}

/** "2.1 ms Node (service) + 2.4 ms PostgreSQL" for a note. */
export function cpuNote(per: Record<CpuGroup, number> | undefined, unit: string): string | undefined {
  if (!per) return undefined;
  const node = per.service || per.floor;
  return `CPU per ${unit}: ${node} ms Node + ${per.postgres} ms PostgreSQL`;
}
