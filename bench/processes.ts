// Processes under test: `callsnare serve` / `worker` as a user runs them (node bin/callsnare.js, which
// runs dist/ when it is current), and the floor baseline (bench/floor-server.ts), each read line by line.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { distIsCurrent } from '../bin/dist-current.js';
import { profileFlags } from './profile.ts';

const REPO_URL = new URL('..', import.meta.url);
export const REPO = fileURLToPath(REPO_URL);

/** A child process that logs JSON lines; `ready` resolves with the first line whose `msg` matches. */
export interface BenchProcess {
  readonly child: ChildProcess;
  readonly ready: Promise<Record<string, unknown>>;
  readonly exited: Promise<void>;
}

/** `promise`, or a rejection naming `what` after `ms`. */
export async function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms / 1000} s`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Spawns `command args` in the repository with only `env` (plus PATH and HOME); ready on a log line whose msg matches `readyMsg`. */
export function spawnLogged(command: string, args: readonly string[], env: Record<string, string>, readyMsg: RegExp): BenchProcess {
  const child = spawn(command, args, {
    cwd: REPO,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    if (stderr.length < 10_000) stderr += chunk.toString();
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const ready = new Promise<Record<string, unknown>>((resolve, reject) => {
    // Read every line: an unread pipe would block the process.
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (!line.startsWith('{')) return;
      try {
        const parsed = JSON.parse(line) as Record<string, unknown>;
        if (typeof parsed.msg === 'string' && readyMsg.test(parsed.msg)) resolve(parsed);
      } catch {
        // not a log line
      }
    });
    child.once('exit', (code, signal) =>
      reject(new Error(`${args.join(' ')} exited (${code ?? signal}) before it was ready: ${stderr.trim()}`)),
    );
  });
  ready.catch(() => {});
  return { child, ready, exited };
}

/** Where `callsnare` processes write their CPU profiles (`--profile`; bench/profile.ts), if they do. */
let cpuProfileDir: string | undefined;

/** From now on, every `callsnare` process started writes its CPU profile into `dir` (undefined: none). */
export function profileInto(dir: string | undefined): void {
  cpuProfileDir = dir;
}

/**
 * Builds dist/ (`npm run build`, what `npm ci` runs as prepare) unless it holds the current sources, so
 * every `callsnare` process runs the bundle users run. Returns the build's seconds, or undefined if none was needed.
 */
export function ensureBuilt(log: (message: string) => void): number | undefined {
  if (distIsCurrent(REPO_URL)) return undefined;
  log('dist/ is missing or older than the sources: npm run build (what npm ci runs as prepare)');
  const start = performance.now();
  const built = spawnSync(process.execPath, ['bin/build.js'], { cwd: REPO, stdio: 'inherit' });
  if (built.status !== 0) throw new Error('npm run build failed');
  return (performance.now() - start) / 1000;
}

/**
 * `node bin/callsnare.js <args>` on database `url`, ready when `readyMsg` is logged. Refuses when the
 * sources changed after dist/ was built (during a bench): the process would run them through tsx, which
 * is not what users run, and its figures would not be comparable.
 */
export function spawnCallsnare(url: string, args: readonly string[], readyMsg: RegExp, env: Record<string, string> = {}): BenchProcess {
  if (!distIsCurrent(REPO_URL))
    throw new Error('the sources changed after dist/ was built: callsnare would run them through tsx; rerun the bench (it builds first)');
  return spawnLogged(
    process.execPath,
    [...(cpuProfileDir ? profileFlags(cpuProfileDir) : []), 'bin/callsnare.js', ...args],
    {
      DATABASE_URL: url,
      LOG_LEVEL: 'info',
      MESSAGING: 'log',
      RATE_LIMIT_PER_MINUTE: '1000000000',
      ...env,
    },
    readyMsg,
  );
}

/** `callsnare serve [args]` on an ephemeral port; resolves with its base URL once it listens. */
export async function startServe(url: string, args: readonly string[] = []): Promise<{ process: BenchProcess; baseUrl: string }> {
  const proc = spawnCallsnare(url, ['serve', ...args], /^CallSnare listening on /, { PORT: '0', HOST: '127.0.0.1' });
  try {
    const line = await within(120_000, `serve ${args.join(' ')}`, proc.ready);
    return {
      process: proc,
      baseUrl: typeof line.address === 'string' ? line.address : String(line.msg).replace(/^CallSnare listening on /, ''),
    };
  } catch (error) {
    await stopProcesses([proc]);
    throw error;
  }
}

export const isRunning = (p: BenchProcess) => p.child.exitCode === null && p.child.signalCode === null;

/** SIGTERM (a callsnare process drains), SIGKILL after 20 s. */
export async function stopProcesses(processes: readonly BenchProcess[]): Promise<void> {
  for (const p of processes) if (isRunning(p)) p.child.kill('SIGTERM');
  await within(20_000, 'shutdown', Promise.all(processes.map((p) => p.exited))).catch(() => {
    for (const p of processes) if (isRunning(p)) p.child.kill('SIGKILL');
  });
  await Promise.all(processes.map((p) => p.exited));
}
