// Processes a test starts end with the test, however it ends. Each is spawned in its own process group and
// registered with one watchdog per test process: a small detached node process that reads the test process's
// pipe and SIGKILLs every registered group when that pipe closes — on a failure, a timeout, a thrown set-up
// error, or the test process (or tap) being SIGKILLed, where no teardown runs.
import {
  type ChildProcess,
  type ChildProcessWithoutNullStreams,
  type ExecFileException,
  type ExecFileOptions,
  execFile,
  spawn,
  type SpawnOptions,
  type SpawnOptionsWithoutStdio,
} from 'node:child_process';
import type { Socket } from 'node:net';

const WATCHDOG = `
const groups = new Set();
let buffer = '';
const sweep = () => { for (const g of groups) { try { process.kill(g, 'SIGKILL'); } catch {} } process.exit(0); };
process.stdin.on('data', (chunk) => {
  buffer += chunk;
  let nl;
  while ((nl = buffer.indexOf('\\n')) >= 0) {
    const line = buffer.slice(0, nl); buffer = buffer.slice(nl + 1);
    const id = Number(line.slice(1));
    if (line[0] === '+') groups.add(id); else groups.delete(id);
  }
});
process.stdin.on('end', sweep);
process.stdin.on('error', sweep);
process.on('SIGTERM', () => {});
process.on('SIGINT', () => {});
`;

let watchdog: ChildProcess | undefined;

function tell(line: string): void {
  if (!watchdog) {
    // Detached: a signal to the test's own process group (Ctrl-C, tap's kill) must leave the watchdog to sweep.
    watchdog = spawn(process.execPath, ['-e', WATCHDOG], { detached: true, stdio: ['pipe', 'ignore', 'ignore'] });
    watchdog.unref();
    (watchdog.stdin as unknown as Socket).unref();
    // A test process whose runner died (its IPC channel gone) has no one to report to: end it, and the
    // watchdog sweeps what it started.
    process.once('disconnect', () => process.exit(1));
  }
  watchdog.stdin!.write(`${line}\n`);
}

/** Registers a started child (`group`: it leads its own process group) so it is killed if the test process dies. */
function own(child: ChildProcess, group: boolean): ChildProcess {
  const pid = child.pid;
  if (pid === undefined) return child;
  const target = group ? -pid : pid;
  tell(`+${target}`);
  child.once('exit', () => {
    // What the leader left behind in its group is a leftover too.
    if (group) {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // The group is already empty.
      }
    }
    tell(`-${target}`);
  });
  return child;
}

/** `spawn`, in a process group of its own that dies with the test process. `child.kill` still signals the leader. */
export function spawnOwned(command: string, args: readonly string[], options?: SpawnOptionsWithoutStdio): ChildProcessWithoutNullStreams;
export function spawnOwned(command: string, args: readonly string[], options: SpawnOptions): ChildProcess;
export function spawnOwned(command: string, args: readonly string[], options: SpawnOptions = {}): ChildProcess {
  return own(spawn(command, args, { ...options, detached: true }), true);
}

/** `execFile`, killed with the test process if it is still running then. */
export function execFileOwned(
  file: string,
  args: readonly string[],
  options: ExecFileOptions,
  callback: (error: ExecFileException | null, stdout: string, stderr: string) => void,
): ChildProcess {
  return own(
    execFile(file, args, { ...options, encoding: 'utf8' }, (error, stdout, stderr) => callback(error, stdout, stderr)),
    false,
  );
}
