import { type ChildProcess } from 'node:child_process';
import { spawnOwned } from '../support/processes.ts';
import { randomUUID } from 'node:crypto';
import { createInterface } from 'node:readline';
import { sql } from 'kysely';
import t from 'tap';
import { processManager } from '../../src/automation/process-manager-runner.ts';
import { catchUp } from '../../src/subscriptions/engine.ts';
import { createBooking } from '../../src/commands/bookings.ts';
import { configureOrg, createOrg } from '../../src/commands/orgs.ts';
import { migrateJobQueue } from '../../src/db/migrate.ts';
import { PostgresEventStore } from '../../src/eventstore/postgres/store.ts';
import { operator } from '../support/app.ts';
import { daytimeZone, NO_PLACE } from '../support/daytime.ts';
import { testDatabase } from '../support/db.ts';
import { CLI_BIN, REPO_ROOT } from '../support/serve.ts';
import { ACCOUNT_SID, AUTH_TOKEN, fakeTwilio } from './fake-twilio.ts';

/**
 * A real `callsnare worker` loses its database (every session it has is terminated) while its send
 * is in flight at a slow Twilio; another worker reclaims its job. Twilio must see one message.
 */
const database = await testDatabase(t);
const { db, pool } = database;
await migrateJobQueue(pool);
const store = new PostgresEventStore({ pool, url: database.url, pollIntervalMs: 100 });
t.teardown(() => store.close());
const deps = { store, db, clock: () => new Date() };
const twilio = fakeTwilio();
const baseUrl = await twilio.listen();
t.teardown(() => twilio.close());

interface Worker {
  readonly child: ChildProcess;
  readonly lines: string[];
  readonly ready: Promise<void>;
}
const workers: Worker[] = [];
t.teardown(() => {
  for (const w of workers) if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGKILL');
});

function startWorker(): Worker {
  const child = spawnOwned(
    process.execPath,
    [CLI_BIN, 'worker', '--concurrency', '1', '--recovery-interval', '1', '--no-process-manager', '--no-migrate'],
    {
      cwd: REPO_ROOT,
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        DATABASE_URL: database.url,
        LOG_LEVEL: 'info',
        MESSAGING: 'twilio',
        TWILIO_ACCOUNT_SID: ACCOUNT_SID,
        TWILIO_AUTH_TOKEN: AUTH_TOKEN,
        TWILIO_API_BASE_URL: baseUrl,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const lines: string[] = [];
  const ready = new Promise<void>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      lines.push(line);
      if (line.includes('"automation worker running"')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`worker exited (${code}) before it was ready`)));
  });
  const worker = { child, lines, ready };
  workers.push(worker);
  return worker;
}

async function until(what: string, check: () => Promise<boolean> | boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

t.test('a worker that loses its database mid-send is fenced off: one message reaches Twilio', async (t) => {
  const orgId = randomUUID();
  await createOrg(deps, operator(orgId), { orgId, name: 'Acme HVAC', timezone: daytimeZone(), phones: ['+15125550100'] });
  await configureOrg(deps, operator(orgId), { orgId, changes: { a2pCampaignId: 'CM0123456789abcdef0123456789abcdef' } });
  const start = new Date(Date.now() + 3 * 86_400_000);
  const caller = { orgId, actor: { type: 'integration' as const, id: 'test', label: 'Dispatch board' }, correlationId: randomUUID() };
  const { booking } = await createBooking(deps, caller, {
    customer: { name: 'Dana Diaz', phone: `${NO_PLACE}5550199` },
    window: { start: start.toISOString(), end: new Date(start.getTime() + 7_200_000).toISOString() },
  });
  const key = `confirmation:${booking.id}`;
  const confirmationJobs = async () =>
    Number((await sql<{ n: string }>`select count(*) as n from graphile_worker.jobs where key = ${key}`.execute(db)).rows[0]!.n);
  await until(
    'the confirmation is queued',
    async () => (await catchUp(deps, processManager)) >= 0 && (await confirmationJobs()) === 1,
    30_000,
  );

  // Twilio takes the first request and does not answer it.
  twilio.delay(Number.POSITIVE_INFINITY);
  const first = startWorker();
  await first.ready;
  await twilio.requests(1);
  twilio.delay(0);

  // Every session of the worker process ends (the test's own pool is 'callsnare-test').
  const { rows: killed } = await sql<{ pid: number }>`
    with workers as materialized (
      select pid from pg_stat_activity where datname = current_database() and application_name = 'callsnare'
    )
    select pid from workers where pg_terminate_backend(pid)`.execute(db);
  t.ok(killed.length > 0, `terminated ${killed.length} sessions`);

  const second = startWorker();
  await second.ready;
  const evidence = async () =>
    (await store.readStream(`booking-${booking.id}`)).map((e) => e.type).filter((type) => type !== 'BookingCreated');
  // On a timeout, what the workers said and where the job stands, so a rare failure explains itself.
  const explain = async () => {
    const { rows: jobs } =
      await sql`select attempts, locked_by, locked_at, run_at, last_error from graphile_worker.jobs where key = ${key}`.execute(db);
    t.comment(JSON.stringify({ jobs, twilioRequests: twilio.received.length }));
    for (const [i, w] of [first, second].entries())
      for (const line of w.lines) if (!line.includes('"level":20')) t.comment(`worker ${i + 1}: ${line}`);
  };
  try {
    await until(
      'the confirmation has an outcome, or a second send',
      async () => twilio.received.length > 1 || (await evidence()).length > 0,
      90_000,
    );
    // A late duplicate would come from a retry of the job: let one more recovery round and retry pass.
    await until('the confirmation job is done', async () => twilio.received.length > 1 || (await confirmationJobs()) === 0, 60_000);
  } catch (error) {
    await explain();
    throw error;
  }

  t.equal(twilio.received.length, 1, 'Twilio received exactly one message');
  t.ok(
    first.lines.some((l) => l.includes('worker lost its database liveness')),
    'the first worker fenced itself',
  );
  const [row] = (
    await sql<{ state: string; requests: number }>`select state, requests from outbound_messages where job_key = ${key}`.execute(db)
  ).rows;
  t.equal(row?.state, 'sending', 'the ledger keeps the send whose outcome is unknown');
  const events = await store.readStream(`booking-${booking.id}`);
  t.same(
    events.map((e) => e.type),
    ['BookingCreated', 'ConfirmationFailed'],
    'recorded as failed (delivery unknown), never sent again',
  );
  t.match((events[1]!.data as { error: string }).error, /delivery unknown/);
});
