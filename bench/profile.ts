// `npm run bench -- --profile`: the service's processes run with Node's own sampling profiler
// (`--cpu-prof`), one directory per benchmark under bench/profiles/<date and time>/ (not committed),
// and each benchmark's profiles are summed up here: self time by area (our folders under src/, each
// package, Node's internals, the garbage collector) and the hottest functions. The CLI runs as
// esbuild's bundle (dist/cli); esbuild marks where each module starts with a `// path` comment line,
// which is how a sample's line is traced back to its module.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** One `.cpuprofile` (the parts read here; Chrome DevTools' format). */
interface CpuProfile {
  readonly nodes: readonly {
    readonly id: number;
    readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
  }[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

/** Self time of one area or function, in milliseconds and as a share of the busy (non-idle) time. */
export interface ProfileLine {
  readonly name: string;
  readonly ms: number;
  readonly share: number;
}

/** A benchmark's profiles summed: busy time, then areas and functions by self time. */
export interface ProfileSummary {
  readonly files: number;
  readonly busyMs: number;
  readonly areas: readonly ProfileLine[];
  readonly functions: readonly ProfileLine[];
}

/** Node's flags that make a process write its CPU profile into `dir` as it exits (Node 20 refuses them in NODE_OPTIONS). */
export const profileFlags = (dir: string) => ['--cpu-prof', `--cpu-prof-dir=${dir}`];

/** Module start lines of a bundled file (esbuild's `// src/…` / `// node_modules/…` markers), sorted. */
const bundleMaps = new Map<string, { line: number; module: string }[]>();
function modulesOf(file: string): { line: number; module: string }[] {
  let map = bundleMaps.get(file);
  if (!map) {
    map = [];
    if (existsSync(file)) {
      const lines = readFileSync(file, 'utf8').split('\n');
      lines.forEach((text, line) => {
        const marker = /^\/\/ ((?:src|node_modules)\/\S+)$/.exec(text);
        if (marker) map!.push({ line, module: marker[1]! });
      });
    }
    bundleMaps.set(file, map);
  }
  return map;
}

/** The module a frame's code belongs to: its own path, or in a bundle the module whose marker precedes the line. */
function moduleOf(url: string, line: number): string {
  const path = url.startsWith('file://') ? fileURLToPath(url) : url;
  if (!path.includes('/dist/cli/')) return path;
  let found = path;
  for (const m of modulesOf(path)) {
    if (m.line > line) break;
    found = m.module;
  }
  return found;
}

/** The area a module belongs to: `src/<folder>`, a package's name, `node:<module>`, or the VM's own entries. */
function areaOf(functionName: string, module: string): string {
  if (!module) return functionName.startsWith('(') ? functionName : '(native / VM)';
  if (module.startsWith('node:')) return `node:${module.slice('node:'.length).split('/').slice(0, 2).join('/')}`;
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(module);
  if (pkg) return pkg[1]!;
  const src = /(?:^|\/)src\/([^/]+)/.exec(module);
  if (src) return `src/${src[1]!.replace(/\.ts$/, '')}`;
  return module.split('/').slice(-2).join('/');
}

const top = (totals: Map<string, number>, busy: number, n: number): ProfileLine[] =>
  [...totals]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([name, us]) => ({ name, ms: Math.round(us / 1000), share: Math.round((us / busy) * 1000) / 10 }));

/** Sums every `.cpuprofile` in `dir`; undefined when there is none. */
export function summariseProfiles(dir: string, n = 15): ProfileSummary | undefined {
  if (!existsSync(dir)) return undefined;
  const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
  if (!files.length) return undefined;
  const areas = new Map<string, number>();
  const functions = new Map<string, number>();
  let busy = 0;
  for (const file of files) {
    const profile = JSON.parse(readFileSync(`${dir}/${file}`, 'utf8')) as CpuProfile;
    const byId = new Map(profile.nodes.map((node) => [node.id, node.callFrame]));
    profile.samples.forEach((id, i) => {
      const frame = byId.get(id);
      const us = profile.timeDeltas[i] ?? 0;
      if (!frame || frame.functionName === '(idle)') return;
      busy += us;
      const module = moduleOf(frame.url, frame.lineNumber);
      const area = areaOf(frame.functionName, module);
      areas.set(area, (areas.get(area) ?? 0) + us);
      const name =
        `${frame.functionName || '(anonymous)'} ${module ? `${module.split('/').slice(-2).join('/')}:${frame.lineNumber + 1}` : ''}`.trim();
      functions.set(name, (functions.get(name) ?? 0) + us);
    });
  }
  return { files: files.length, busyMs: Math.round(busy / 1000), areas: top(areas, busy, n), functions: top(functions, busy, n) };
}

/** The summary as text lines for the log and the report. */
export function formatProfile(name: string, summary: ProfileSummary): string {
  const line = (l: ProfileLine) => `  ${`${l.share.toFixed(1)}%`.padStart(6)} ${String(l.ms).padStart(7)} ms  ${l.name}`;
  return [
    `Profile of ${name}: ${summary.files} process profile(s), ${summary.busyMs} ms busy (self time; idle left out)`,
    ' by area:',
    ...summary.areas.map(line),
    ' hottest functions:',
    ...summary.functions.map(line),
  ].join('\n');
}
