import { execFileOwned } from '../support/processes.ts';
import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import t from 'tap';
import { createOrg } from '../../src/commands/orgs.ts';
import { resetwalTarget } from '../../src/eventstore/postgres/restore-check.ts';
import { PostgresEventStore } from '../../src/eventstore/postgres/store.ts';
import { projector } from '../../src/projections/projection.ts';
import { catchUp } from '../../src/subscriptions/engine.ts';
import { orgsProjection } from '../../src/projections/read-models/orgs.ts';
import { operator } from '../support/app.ts';
import { testDatabase } from '../support/db.ts';
import { CLI_BIN, REPO_ROOT } from '../support/serve.ts';

/**
 * A dump restored into a fresh cluster: the events and checkpoints keep the transaction ids of the old
 * server, which are far ahead of the new server's. Simulated by shifting every stored id ahead.
 */
const database = await testDatabase(t);
const store = new PostgresEventStore({ pool: database.pool, url: database.url });
t.teardown(() => store.close());
const deps = { store, clock: () => new Date(), db: database.db };
for (let i = 0; i < 3; i++) {
  const orgId = randomUUID();
  await createOrg(deps, operator(orgId), { orgId, name: `Restored HVAC ${i}`, timezone: 'America/Chicago', phones: [] });
}
await catchUp(deps, projector(orgsProjection));
const SHIFT = 3_000_000_000n;
await sql`update es_events set transaction_id = (transaction_id::text::numeric + ${SHIFT.toString()}::numeric)::text::xid8`.execute(
  database.db,
);
await sql`update projection_checkpoints set commit_position = commit_position + ${SHIFT.toString()}::numeric where commit_position is not null`.execute(
  database.db,
);

const env = { PATH: process.env.PATH, HOME: process.env.HOME, DATABASE_URL: database.url, PORT: '0' };
function cli(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    execFileOwned(
      process.execPath,
      [CLI_BIN, ...args],
      { env, cwd: REPO_ROOT, timeout: 90_000, killSignal: 'SIGKILL' },
      (error, _stdout, stderr) => {
        resolve({ code: error ? ((error as { code?: number }).code ?? null) : 0, stderr });
      },
    );
  });
}

for (const args of [['serve', '--no-worker'], ['project'], ['worker']]) {
  t.test(`\`${args.join(' ')}\` on a restored dump refuses to start with one line naming the restore procedure`, async (t) => {
    const { code, stderr } = await cli(args);
    t.equal(code, 1, 'exits 1 (not killed by the timeout)');
    const lines = stderr.trim().split('\n');
    t.equal(lines.length, 1, `one line: ${stderr}`);
    t.match(lines[0], /^error: stored event positions reach transaction \d+ but this PostgreSQL server is only at \d+/);
    t.match(lines[0], /Restoring from a dump/);
    t.match(lines[0], /pg_resetwal -e \d+ -x \d+/);
  });
}

t.test('the pg_resetwal target starts a pg_xact segment past the highest stored id', async (t) => {
  t.same(resetwalTarget(5n), { epoch: 0n, xid: 0x100000n });
  t.same(resetwalTarget(0x100000n), { epoch: 0n, xid: 0x200000n });
  t.same(resetwalTarget((1n << 32n) + 7n), { epoch: 1n, xid: 0x100000n });
  t.same(resetwalTarget(0xfffffff0n), { epoch: 1n, xid: 0x100000n });
});
