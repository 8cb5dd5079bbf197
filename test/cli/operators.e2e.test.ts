import { execFileOwned, spawnOwned } from '../support/processes.ts';
import { randomUUID } from 'node:crypto';
import t from 'tap';
import { createBooking } from '../../src/commands/bookings.ts';
import { createOrg } from '../../src/commands/orgs.ts';
import { issueCredential } from '../../src/identity/index.ts';
import { PostgresEventStore } from '../../src/eventstore/postgres/store.ts';
import { testDatabase } from '../support/db.ts';
import { CLI_BIN, REPO_ROOT, startServe } from '../support/serve.ts';
import { operator } from '../support/app.ts';

const root = REPO_ROOT;
const bin = CLI_BIN;
const database = await testDatabase(t);
const env = { PATH: process.env.PATH, HOME: process.env.HOME, DATABASE_URL: database.url, TZ: 'America/Chicago' };
const store = new PostgresEventStore({ pool: database.pool, url: database.url });
t.teardown(() => store.close());
const deps = { store, clock: () => new Date() };

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}
function cli(args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFileOwned(
      process.execPath,
      [bin, ...args],
      { env, cwd: root, timeout: 120_000, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
      },
    );
  });
}

// Seed: one org, its token, and 3000 bookings written through the command layer.
const orgId = randomUUID();
await createOrg(deps, operator(orgId), { orgId, name: 'Acme HVAC', timezone: 'America/Chicago', phones: [] });
const issued = await issueCredential(deps, operator(orgId), { orgId, label: 'ops test', kind: 'integration', scopes: ['READ_BOOKINGS'] });
const caller = { orgId, actor: { type: 'integration' as const, id: issued.id, label: 'ops test' }, correlationId: 'seed' };
const TOTAL = 3000;
let next = 0;
await Promise.all(
  Array.from({ length: 8 }, async () => {
    while (next < TOTAL) {
      const i = next++;
      const start = new Date(Date.UTC(2030, 0, 1, 8) + ((i % 80) * 86_400_000) / 2);
      await createBooking(deps, caller, {
        customer: { name: `Customer ${i}`, phone: `+1512${String(5_000_000 + i)}` },
        window: { start: start.toISOString(), end: new Date(start.getTime() + 3_600_000).toISOString() },
      });
    }
  }),
);

const snapshot = async () => (await database.db.selectFrom('bookings').selectAll().orderBy('id').execute()).map((r) => JSON.stringify(r));

// `serve` with its projectors builds the live read model and answers queries throughout.
// No worker: automation would add evidence events to the bookings this test compares.
const { child: server, address } = await startServe(env, ['serve', '--no-worker']);
t.teardown(() => {
  server.kill('SIGTERM');
});
const listUrl = `${address}/api/private/v1/bookings?from=2030-01-01T00:00:00Z&to=2030-03-01T00:00:00Z&limit=200`;
const list = () => fetch(listUrl, { headers: { authorization: `Bearer ${issued.token}` } });
for (let i = 0; i < 200; i++) {
  const { rows } = await database.pool.query('select count(*)::int as n from bookings');
  if (rows[0].n === TOTAL) break;
  await new Promise((r) => setTimeout(r, 100));
}

t.test('projections status shows every projection caught up', async (t) => {
  const run = await cli(['projections', 'status']);
  t.equal(run.code, 0, run.stderr);
  t.match(run.stdout, /PROJECTION\s+CHECKPOINT\s+HEAD\s+LAG EVENTS/);
  t.match(run.stdout, /bookings\s/);
});

t.test('a rebuild while the API answers list queries: no error, no empty answer during the swap', async (t) => {
  const before = await snapshot();
  t.equal(before.length, TOTAL);
  let stop = false;
  const answers: { status: number; count: number }[] = [];
  const poller = (async () => {
    while (!stop) {
      const res = await list();
      const body = (await res.json()) as { data: unknown[] };
      answers.push({ status: res.status, count: body.data?.length ?? -1 });
    }
  })();
  const run = await cli(['projections', 'rebuild', 'bookings', '--batch-size', '250']);
  stop = true;
  await poller;
  t.equal(run.code, 0, run.stderr);
  t.match(run.stdout, /rebuilt bookings: 3000 events/);
  t.match(run.stderr, /bookings: (building|swapping|done)/, 'plain progress lines when not on a TTY');
  t.ok(answers.length > 3, `${answers.length} list queries answered during the rebuild`);
  t.ok(
    answers.every((a) => a.status === 200),
    'never an error',
  );
  t.ok(
    answers.every((a) => a.count === 200),
    'never an empty or short answer',
  );
  t.same(await snapshot(), before, 'same read model after the swap');
});

t.test('kill -9 mid-rebuild, then rerun: identical to a clean rebuild, and verify passes', async (t) => {
  const clean = await snapshot();
  const child = spawnOwned(process.execPath, [bin, 'projections', 'rebuild', 'bookings', '--batch-size', '50'], { env, cwd: root });
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  let progressed = false;
  for (let i = 0; i < 300 && !progressed; i++) {
    await new Promise((r) => setTimeout(r, 50));
    const { rows } = await database.pool.query(
      "select events_handled::int as n from projection_checkpoints where name = 'rebuild:bookings'",
    );
    progressed = (rows[0]?.n ?? 0) > 0;
  }
  t.ok(progressed, 'the rebuild made progress before the kill');
  child.kill('SIGKILL');
  await exited;
  t.same(await snapshot(), clean, 'the live model is untouched by the killed rebuild');
  const { rows } = await database.pool.query("select events_handled::int as n from projection_checkpoints where name = 'rebuild:bookings'");
  t.ok(rows[0]?.n > 0 && rows[0]?.n < TOTAL, `the killed rebuild stopped part way (${rows[0]?.n} events)`);

  const rerun = await cli(['projections', 'rebuild', 'bookings', '--json']);
  t.equal(rerun.code, 0, rerun.stderr);
  t.match(JSON.parse(rerun.stdout.trim()), { projection: 'bookings', resumed: true });
  t.same(await snapshot(), clean, 'identical to a clean rebuild');
  const verify = await cli(['projections', 'verify', '--all']);
  t.equal(verify.code, 0, verify.stdout + verify.stderr);
  t.match(verify.stdout, /bookings: OK/);
});

t.test('verify fails after a read-model row is altered and names the difference', async (t) => {
  const { rows } = await database.pool.query('select id from bookings order by id limit 1');
  await database.pool.query(`update bookings set state = jsonb_set(state, '{notes}', '"tampered"') where id = $1`, [rows[0].id]);
  const run = await cli(['projections', 'verify', 'bookings']);
  t.equal(run.code, 1);
  t.match(run.stdout, /bookings: DIFFERS/);
  t.match(run.stdout, /0 missing, 0 extra, 1 different/);
  t.match(run.stdout, rows[0].id);
  t.match(run.stderr, /^error: read model differs from a clean rebuild/);
  const rebuilt = await cli(['projections', 'rebuild', 'bookings']);
  t.equal(rebuilt.code, 0);
  t.equal((await cli(['projections', 'verify', 'bookings'])).code, 0, 'a rebuild repairs it');
});

t.test('audit timeline lists events in commit order with actor and summary; --json is NDJSON', async (t) => {
  const text = await cli(['audit', 'timeline', '--org', orgId, '--stream', `org-${orgId}`]);
  t.equal(text.code, 0, text.stderr);
  t.match(text.stdout, /TIME\s+TYPE\s+ACTOR\s+STREAM\s+SUMMARY/);
  t.match(text.stdout, /C[SD]T\s+OrgCreated\s+operator:test operator\s+org-/);
  t.match(text.stdout, /org "Acme HVAC" created/);
  const json = await cli(['audit', 'timeline', '--org', orgId, '--json']);
  const lines = json.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  t.equal(lines.length, TOTAL + 2, 'org, credential and every booking event');
  t.match(lines[0], { type: 'OrgCreated', actor: { type: 'operator' }, streamId: `org-${orgId}` });
  const since = await cli(['audit', 'timeline', '--org', orgId, '--json', '--since', '2999-01-01T00:00:00Z']);
  t.equal(since.stdout.trim(), '', 'nothing after a future --since');
  const bad = await cli(['audit', 'timeline', '--org', orgId, '--since', 'yesterday']);
  t.equal(bad.code, 1);
  t.match(bad.stderr, /^error: --since: not a date/);
  const byType = await cli(['audit', 'timeline', '--org', orgId, '--json', '--type', 'CredentialIssued']);
  t.same(
    byType.stdout
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { type: string }).type),
    ['CredentialIssued'],
    '--type keeps only that type',
  );
  const byActor = await cli(['audit', 'timeline', '--org', orgId, '--json', '--actor', issued.id]);
  const actorLines = byActor.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { type: string; actor: { id: string } });
  t.equal(actorLines.length, TOTAL, "--actor keeps only that actor's events: every booking the integration created");
  t.ok(
    actorLines.every((e) => e.actor.id === issued.id && e.type === 'BookingCreated'),
    'all of them by the integration',
  );
  const badType = await cli(['audit', 'timeline', '--org', orgId, '--type', 'BookingMade']);
  t.equal(badType.code, 1);
  t.equal(badType.stderr, 'error: --type: must be an event type such as MissedCallRecorded\n');
});

t.test('audit state folds a stream up to a time or position', async (t) => {
  const timeline = (await cli(['audit', 'timeline', '--org', orgId, '--json'])).stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  const created = timeline.find((e) => e.type === 'BookingCreated');
  const state = await cli(['audit', 'state', '--stream', created.streamId, '--as-of', created.position, '--json']);
  t.equal(state.code, 0, state.stderr);
  t.match(JSON.parse(state.stdout), { events: 1, state: { status: 'scheduled', version: 1 } });
  const before = await cli(['audit', 'state', '--stream', created.streamId, '--as-of', '2000-01-01T00:00:00Z', '--json']);
  t.match(JSON.parse(before.stdout), { events: 0, state: null });
  const unknown = await cli(['audit', 'state', '--stream', `booking-${randomUUID()}`, '--as-of', '2030-01-01T00:00:00Z']);
  t.equal(unknown.code, 1);
  t.match(unknown.stderr, /^error: unknown stream/);
});

t.test('audit verify passes, then names an event altered directly in the database', async (t) => {
  const ok = await cli(['audit', 'verify']);
  t.equal(ok.code, 0, ok.stderr);
  t.match(ok.stdout, /hash chains intact: \d+ streams, \d+ events/);
  const { rows } = await database.pool.query(
    "select event_id, stream_id from es_events where event_type = 'BookingCreated' order by global_position limit 1 offset 17",
  );
  await database.pool.query(`update es_events set data = jsonb_set(data, '{customer,name}', '"Mallory"') where event_id = $1`, [
    rows[0].event_id,
  ]);
  const broken = await cli(['audit', 'verify', '--org', orgId]);
  t.equal(broken.code, 1);
  t.match(
    broken.stderr,
    new RegExp(`^error: hash chain broken at event ${rows[0].event_id} \\(BookingCreated, stream ${rows[0].stream_id}, revision 0`),
  );
  t.match(broken.stderr, /hash mismatch/);
});
