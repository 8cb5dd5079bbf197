// Start-up as a user meets it, each timed from spawn over several runs (median and range):
//  - `callsnare --help` (node bin/callsnare.js --help) to exit;
//  - a DB command with the database up, `callsnare projections status` on the bench database, to exit;
//  - `npm start` to its first answered request (GET /healthz → 200), on an existing embedded data dir
//    (.data/bench-start, initialised by one untimed start first) and on DATABASE_URL (the bench database).
// bin/callsnare.js runs dist/ when it is current: bench/run.ts builds it before the first benchmark
// (npm ci would have, through `prepare`), so the figures are those of an installed checkout.
import { spawn, spawnSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { distIsCurrent } from '../bin/dist-current.js';
import { freePort } from '../src/db/embedded.ts';
import { type Benchmark, type Row, round, since, sleep, spreadOf } from './common.ts';
import { REPO, within } from './processes.ts';

const ROOT = new URL('..', import.meta.url);

/** Wall time of `node bin/callsnare.js <args>` to its exit, in ms; throws on a non-zero exit. */
function timeCli(args: readonly string[], env: Record<string, string>): number {
  const start = performance.now();
  const result = spawnSync(process.execPath, ['bin/callsnare.js', ...args], {
    cwd: REPO,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    encoding: 'utf8',
  });
  const ms = since(start);
  if (result.status !== 0) throw new Error(`callsnare ${args.join(' ')} exited ${result.status ?? result.signal}: ${result.stderr.trim()}`);
  return ms;
}

/** `npm start` with `env`; ms from spawn to the first 200 of GET /healthz; then SIGTERM to its process group and wait for the exit. */
async function timeNpmStart(env: Record<string, string>): Promise<number> {
  const port = await freePort();
  const start = performance.now();
  const child = spawn('npm', ['start', '--silent'], {
    cwd: REPO,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      LOG_LEVEL: 'warn',
      MESSAGING: 'log',
      PORT: String(port),
      HOST: '127.0.0.1',
      ...env,
    },
    stdio: 'ignore',
    detached: true,
  });
  const exited = new Promise<number | string | null>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal)));
  let code: number | string | null | undefined;
  void exited.then((c) => (code = c));
  try {
    return await within(
      120_000,
      'npm start',
      (async () => {
        for (;;) {
          if (code !== undefined) throw new Error(`npm start exited (${code}) before answering`);
          const answered = await fetch(`http://127.0.0.1:${port}/healthz`).then(
            (r) => r.status === 200,
            () => false,
          );
          if (answered) return since(start);
          await sleep(20);
        }
      })(),
    );
  } finally {
    if (code === undefined) process.kill(-child.pid!, 'SIGTERM');
    await within(60_000, 'npm start shutdown', exited).catch(() => process.kill(-child.pid!, 'SIGKILL'));
  }
}

/**
 * Stops an embedded server that outlived its `serve` (say, SIGKILLed after a slow drain): otherwise the
 * next start would attach to it and not start PostgreSQL at all. Returns whether there was one.
 */
async function stopLeftoverPostgres(dataDir: string): Promise<boolean> {
  const pidFile = path.join(dataDir, 'pg', 'postmaster.pid');
  let pid: number;
  try {
    pid = Number((await readFile(pidFile, 'utf8')).split('\n')[0]);
    process.kill(pid, 0);
  } catch {
    return false;
  }
  process.kill(pid, 'SIGINT'); // fast shutdown
  for (let i = 0; i < 600; i++) {
    try {
      process.kill(pid, 0);
    } catch {
      return true;
    }
    await sleep(50);
  }
  throw new Error(`embedded PostgreSQL (pid ${pid}) in ${dataDir} did not stop`);
}

function timedRow(bench: string, label: string, msRuns: readonly number[], note?: string): Row {
  const s = spreadOf(msRuns.map((v) => v / 1000));
  return { bench, case: label, value: s.median, unit: 's', rounds: msRuns.map((v) => v / 1000), ...(note && { note }) };
}

export const startupBench: Benchmark = async (ctx) => {
  const cliRuns = ctx.quick ? 5 : 10;
  const startRuns = ctx.quick ? ctx.rounds : 5;
  const rows: Row[] = [];
  const figures: Record<string, unknown> = { cliRuns, npmStartRuns: startRuns };

  // bench/run.ts built dist/ before the first benchmark, as `npm ci` would have.
  figures.distCurrent = distIsCurrent(ROOT);

  const env = { DATABASE_URL: ctx.url, LOG_LEVEL: 'warn' };
  timeCli(['--help'], env); // disk cache warm, as for a user's second command
  const help: number[] = [];
  ctx.loadBefore(`startup: callsnare --help ×${cliRuns}`);
  for (let i = 0; i < cliRuns; i++) help.push(timeCli(['--help'], env));
  const status: number[] = [];
  ctx.loadBefore(`startup: callsnare projections status ×${cliRuns}`);
  for (let i = 0; i < cliRuns; i++) status.push(timeCli(['projections', 'status'], env));
  rows.push(timedRow('startup', '`callsnare --help` to exit', help));
  rows.push(timedRow('startup', '`callsnare projections status` to exit (DATABASE_URL, server up)', status));
  figures.helpMs = help.map((v) => round(v, 1));
  figures.projectionsStatusMs = status.map((v) => round(v, 1));

  // Embedded: an existing data dir (one untimed start initialises it), the server not running.
  const dataDir = path.join(REPO, '.data', 'bench-start');
  ctx.log(`startup: npm start on the embedded PostgreSQL in ${dataDir} (first start untimed: initdb)`);
  let leftovers = Number(await stopLeftoverPostgres(dataDir));
  await timeNpmStart({ DATA_DIR: dataDir });
  leftovers += Number(await stopLeftoverPostgres(dataDir));
  const embedded: number[] = [];
  const external: number[] = [];
  for (let r = 0; r < startRuns; r++) {
    ctx.loadBefore(`startup: npm start (embedded), run ${r + 1}/${startRuns}`);
    embedded.push(await timeNpmStart({ DATA_DIR: dataDir }));
    leftovers += Number(await stopLeftoverPostgres(dataDir));
    ctx.loadBefore(`startup: npm start (DATABASE_URL), run ${r + 1}/${startRuns}`);
    external.push(await timeNpmStart({ DATABASE_URL: ctx.url }));
  }
  rows.push(
    timedRow(
      'startup',
      '`npm start` to first answered request (embedded, existing data dir)',
      embedded,
      `includes starting PostgreSQL${leftovers ? `; embedded server still up after npm exited ${leftovers} time(s): stopped by the bench` : ''}`,
    ),
  );
  figures.embeddedServerOutlivedServe = leftovers;
  rows.push(timedRow('startup', '`npm start` to first answered request (DATABASE_URL, server up)', external));
  figures.npmStartEmbeddedMs = embedded.map((v) => round(v, 1));
  figures.npmStartDatabaseUrlMs = external.map((v) => round(v, 1));

  const s = (runs: number[]) => spreadOf(runs).median / 1000;
  const fmt = (v: number) => `${v.toFixed(2)} s`;
  return {
    title: 'Start-up: CLI commands and npm start',
    rows,
    figures,
    targets: [
      {
        figure: '`callsnare --help` / a DB command with the server running',
        before: '12 s',
        now: `${fmt(s(help))} / ${fmt(s(status))}`,
        target: '≤ 0.5 s / ≤ 1.5 s',
        met: s(help) <= 0.5 && s(status) <= 1.5,
      },
      {
        figure: '`npm start` to first answered request (existing data dir)',
        before: 'not measured',
        now: `${fmt(s(embedded))} embedded, ${fmt(s(external))} DATABASE_URL`,
        target: '≤ 3 s',
        met: s(embedded) <= 3,
      },
    ],
  };
};
