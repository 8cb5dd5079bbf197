// The README's "Restoring from a dump", done as written with the machine's PostgreSQL tools: a dump restored
// into a fresh cluster makes CallSnare refuse to start (naming the pg_resetwal arguments); the same dump
// restored into a cluster prepared with exactly those arguments starts, and new events reach the read models.
// Needs initdb, pg_ctl, pg_dump, pg_restore and pg_resetwal (the embedded build ships none): skipped, saying
// so, where the machine has no PostgreSQL server package.
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import t, { type Test } from 'tap';
import {
  initCluster as initMachineCluster,
  machinePostgres,
  runTool,
  startCluster as startMachineCluster,
} from '../support/machine-postgres.ts';
import { execFileOwned } from '../support/processes.ts';
import { CLI_BIN, REPO_ROOT, startServe } from '../support/serve.ts';

t.setTimeout(600_000);
const tools = machinePostgres(['initdb', 'pg_ctl', 'pg_dump', 'pg_restore', 'pg_resetwal', 'postgres']);
const bin = tools.bin!;
const run = (tool: string, args: string[]) => runTool(bin, tool, args);

function cli(args: string[], url: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) =>
    execFileOwned(
      process.execPath,
      [CLI_BIN, ...args],
      { env: { PATH: process.env.PATH, HOME: process.env.HOME, DATABASE_URL: url, PORT: '0' }, cwd: REPO_ROOT, timeout: 120_000 },
      (error, stdout, stderr) => resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    ),
  );
}

const initCluster = (t: Test, dir: string) => initMachineCluster(t, bin, dir);
const startCluster = async (t: Test, dir: string) => (await startMachineCluster(t, bin, dir)).server;

async function stopCluster(dir: string): Promise<void> {
  await run('pg_ctl', ['-D', dir, '-w', '-m', 'fast', 'stop']);
}

async function query(url: string, text: string, values: unknown[] = []): Promise<pg.QueryResult> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await client.query(text, values);
  } finally {
    await client.end();
  }
}

const skip = tools.skip;

t.test('a dump restored as the README says starts, and new events reach the read models', { skip }, async (t) => {
  const folder = mkdtempSync(path.join(os.tmpdir(), 'callsnare-restore-'));
  chmodSync(folder, 0o755); // the postgres user enters it
  t.teardown(() => rmSync(folder, { recursive: true, force: true }));

  // The old server: CallSnare's tables with an org in them, after enough transactions that its ids are far
  // ahead of a new cluster's.
  const source = path.join(folder, 'source');
  await initCluster(t, source);
  const sourceServer = await startCluster(t, source);
  await query(`${sourceServer}/postgres`, 'create database callsnare');
  const sourceUrl = `${sourceServer}/callsnare`;
  for (let i = 0; i < 1500; i++) await query(`${sourceServer}/postgres`, 'select pg_current_xact_id()');
  const before = await cli(['org', 'create', '--name', 'Before the restore', '--json'], sourceUrl);
  t.equal(before.code, 0, before.stderr);
  const dump = path.join(folder, 'callsnare.dump');
  const dumped = await run('pg_dump', ['-Fc', '-f', dump, sourceUrl]);
  t.equal(dumped.code, 0, `pg_dump: ${dumped.stderr}`);
  const highest = BigInt((await query(sourceUrl, 'select max(transaction_id::text::numeric)::text as n from es_events')).rows[0].n);
  await stopCluster(source);

  // Restored into a fresh cluster as it is: CallSnare refuses and names the pg_resetwal arguments.
  const naive = path.join(folder, 'naive');
  await initCluster(t, naive);
  const naiveServer = await startCluster(t, naive);
  await query(`${naiveServer}/postgres`, 'create database callsnare');
  const restoredNaively = await run('pg_restore', ['--no-owner', '-d', `${naiveServer}/callsnare`, dump]);
  t.equal(restoredNaively.code, 0, `pg_restore: ${restoredNaively.stderr}`);
  const refused = await cli(['serve', '--no-worker'], `${naiveServer}/callsnare`);
  t.equal(refused.code, 1, 'refuses to start');
  const args = /pg_resetwal -e (\d+) -x (\d+)/.exec(refused.stderr);
  t.ok(args, `the refusal names the pg_resetwal arguments: ${refused.stderr}`);
  t.match(refused.stderr, new RegExp(`reach transaction ${highest}\\b`), "names the dump's highest position");
  await stopCluster(naive);

  // Steps 2–4: a new cluster, pg_resetwal with those arguments while empty and stopped, then the restore.
  const target = path.join(folder, 'target');
  await initCluster(t, target);
  const reset = await run('pg_resetwal', ['-e', args![1]!, '-x', args![2]!, target]);
  t.equal(reset.code, 0, `pg_resetwal: ${reset.stderr}`);
  const targetServer = await startCluster(t, target);
  await query(`${targetServer}/postgres`, 'create database callsnare');
  const restored = await run('pg_restore', ['--no-owner', '-d', `${targetServer}/callsnare`, dump]);
  t.equal(restored.code, 0, `pg_restore: ${restored.stderr}`);
  const targetUrl = `${targetServer}/callsnare`;
  const serve = await startServe({ PATH: process.env.PATH, HOME: process.env.HOME, DATABASE_URL: targetUrl }, ['serve', '--no-worker']);
  t.teardown(() => serve.child.kill('SIGKILL'));
  t.pass('serve starts on the prepared cluster');

  const after = await cli(['org', 'create', '--name', 'After the restore', '--json'], targetUrl);
  t.equal(after.code, 0, after.stderr);
  const { orgId } = JSON.parse(after.stdout) as { orgId: string };
  const position = BigInt(
    (
      await query(targetUrl, "select transaction_id::text as n from es_events where event_type = 'OrgCreated' and data->>'orgId' = $1", [
        orgId,
      ])
    ).rows[0].n,
  );
  t.ok(position > highest, 'the new event sorts after everything restored');
  const deadline = Date.now() + 60_000;
  let names: string[] = [];
  while (Date.now() < deadline) {
    names = (await query(targetUrl, 'select name from orgs order by name')).rows.map((r: { name: string }) => r.name);
    if (names.includes('After the restore')) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  t.same(names, ['After the restore', 'Before the restore'], 'the running projector picked up the new org beside the restored one');
});
