// Nothing a test starts outlives it: a test process that started a `serve` and a `worker` is SIGKILLed (no
// teardown runs), and so is the tap runner above another one; 30 s later none of the processes they started
// may be running (the watchdog of test/support/processes.ts kills their process groups).
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t, { type Test } from 'tap';
import { testDatabase } from '../support/db.ts';
import { REPO_ROOT } from '../support/serve.ts';

t.setTimeout(300_000);
const FIXTURE = path.join(REPO_ROOT, 'test/reliability/fixtures/hangs-with-children.ts');
const TAP_BIN = path.join(REPO_ROOT, 'node_modules/.bin/tap');

/** Every live process below `root`, from /proc's parent links (read before `root` dies: orphans are re-parented). */
function descendants(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue;
    }
    // The command name may hold spaces and parentheses: the fields after its last ')' are fixed.
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
  }
  const found: number[] = [];
  const queue = [root];
  while (queue.length > 0) {
    for (const child of children.get(queue.shift()!) ?? []) {
      found.push(child);
      queue.push(child);
    }
  }
  return found;
}

/** Alive and not a zombie waiting for its parent. */
function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

async function until(check: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 250));
  }
  return true;
}

/**
 * Starts `command` (the fixture, run directly or under tap), waits for its report, snapshots every process below
 * it, SIGKILLs it, and answers which of those are still running 30 s later.
 */
async function killMidway(t: Test, command: string, args: string[]): Promise<{ started: number[]; left: number[] }> {
  const database = await testDatabase(t);
  const folder = mkdtempSync(path.join(os.tmpdir(), 'callsnare-leftovers-'));
  const report = path.join(folder, 'report.json');
  // A plain spawn on purpose: the point is what happens when this process is killed and nobody cleans up.
  const victim: ChildProcess = spawn(command, args, {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, LEFTOVER_DATABASE_URL: database.url, LEFTOVER_REPORT: report },
    stdio: 'ignore',
  });
  let started: number[] = [];
  t.teardown(() => {
    // Whatever this test finds left, it does not leave it to the next one.
    for (const pid of [victim.pid!, ...started]) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
    rmSync(folder, { recursive: true, force: true });
  });
  t.ok(await until(() => existsSync(report), 180_000), 'the test started its serve and worker');
  const named = JSON.parse(readFileSync(report, 'utf8')) as { test: number; serve: number; worker: number };
  started = descendants(victim.pid!);
  t.ok(started.includes(named.serve) && started.includes(named.worker), 'serve and worker run below the killed process');
  victim.kill('SIGKILL');
  await until(() => started.every((pid) => !running(pid)), 30_000);
  return { started, left: started.filter(running) };
}

const linux = process.platform === 'linux' && existsSync('/proc/self/stat');

t.test('a test process SIGKILLed mid-way leaves none of its processes running 30 s later', { skip: !linux && 'reads /proc' }, async (t) => {
  const { started, left } = await killMidway(t, process.execPath, ['--import', 'tsx', FIXTURE]);
  t.ok(started.length >= 3, `it had started ${started.length} processes (serve, worker, the watchdog)`);
  t.same(left, [], 'nothing left');
});

t.test('the tap runner SIGKILLed mid-run leaves none of its processes running 30 s later', { skip: !linux && 'reads /proc' }, async (t) => {
  const { started, left } = await killMidway(t, TAP_BIN, ['--disable-coverage', '--timeout=0', '--reporter=silent', FIXTURE]);
  t.ok(started.length >= 4, `it had started ${started.length} processes (the test, serve, worker, the watchdog)`);
  t.same(left, [], 'nothing left');
});
