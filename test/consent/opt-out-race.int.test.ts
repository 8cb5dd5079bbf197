import { type ChildProcess } from 'node:child_process';
import { spawnOwned } from '../support/processes.ts';
import { randomUUID } from 'node:crypto';
import { createInterface } from 'node:readline';
import { sql } from 'kysely';
import t from 'tap';
import { processManager } from '../../src/automation/process-manager-runner.ts';
import { consentStreamOf, lockConsent } from '../../src/commands/consent.ts';
import { createBooking } from '../../src/commands/bookings.ts';
import { execute } from '../../src/commands/execute.ts';
import { configureOrg, createOrg } from '../../src/commands/orgs.ts';
import { migrateJobQueue } from '../../src/db/migrate.ts';
import { type ConsentEvent, type ConsentState, decide, evolve } from '../../src/domain/consent.ts';
import { PostgresEventStore } from '../../src/eventstore/postgres/store.ts';
import { catchUp } from '../../src/subscriptions/engine.ts';
import { ACCOUNT_SID, AUTH_TOKEN, fakeTwilio } from '../automation/fake-twilio.ts';
import { operator } from '../support/app.ts';
import { NO_PLACE, daytimeZone } from '../support/daytime.ts';
import { testDatabase } from '../support/db.ts';
import { CLI_BIN, REPO_ROOT } from '../support/serve.ts';

/**
 * An opt-out lands while a reminder job is running in another process (a real `callsnare worker`, two
 * of them on the queue): the job has already asked mayText (consent unknown then) and reaches the send's
 * intent exactly while the opt-out is being recorded. The send-time check under the contact's consent
 * lock must see the opt-out: Twilio gets nothing, the reminder ends skipped with reason opted_out.
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

const workers: ChildProcess[] = [];
t.teardown(() => {
  for (const w of workers) if (w.exitCode === null && w.signalCode === null) w.kill('SIGKILL');
});

function startWorker(): Promise<void> {
  const child = spawnOwned(process.execPath, [CLI_BIN, 'worker', '--concurrency', '1', '--no-process-manager', '--no-migrate'], {
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
  });
  workers.push(child);
  return new Promise<void>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (line.includes('"automation worker running"')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`worker exited (${code}) before it was ready`)));
  });
}

async function until(what: string, check: () => Promise<boolean> | boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

t.test('an opt-out recorded while another process runs the reminder job wins: nothing reaches Twilio', async (t) => {
  const orgId = randomUUID();
  const phone = `${NO_PLACE}5550199`;
  await createOrg(deps, operator(orgId), { orgId, name: 'Acme HVAC', timezone: daytimeZone(), phones: ['+15125550100'] });
  // One reminder an hour before a visit that starts in an hour and a few seconds: due almost at once.
  await configureOrg(deps, operator(orgId), {
    orgId,
    changes: { confirmations: false, reminderOffsetsMinutes: [60], a2pCampaignId: 'CM0123456789abcdef0123456789abcdef' },
  });
  const start = new Date(Date.now() + 3_600_000 + 3_000);
  const caller = { orgId, actor: { type: 'integration' as const, id: 'test', label: 'Dispatch board' }, correlationId: randomUUID() };
  const { booking } = await createBooking(deps, caller, {
    customer: { name: 'Dana Diaz', phone },
    window: { start: start.toISOString(), end: new Date(start.getTime() + 7_200_000).toISOString() },
  });
  const reminderJobs = async () =>
    Number(
      (await sql<{ n: string }>`select count(*) as n from graphile_worker.jobs where key like ${`reminder:${booking.id}:%`}`.execute(db))
        .rows[0]!.n,
    );
  await until('the reminder is queued', async () => (await catchUp(deps, processManager)) >= 0 && (await reminderJobs()) === 1, 30_000);

  const waitingOnConsent = async () =>
    Number(
      (
        await sql<{ n: string }>`select count(*) as n from pg_locks l join pg_stat_activity a using (pid)
          where l.locktype = 'advisory' and not l.granted and a.application_name = 'callsnare'`.execute(db)
      ).rows[0]!.n,
    ) > 0;

  // The opt-out is recorded as changeConsent records it (exclusive consent lock, then the append), held
  // open until a worker's send is waiting at the consent check, so the two meet exactly.
  const optOut = db.transaction().execute(async (trx) => {
    await lockConsent(trx, orgId, phone, 'exclusive');
    await Promise.all([startWorker(), startWorker()]);
    await until('a worker reaches the send-time consent check', waitingOnConsent, 60_000);
    await execute<ConsentState, ConsentEvent>(
      deps,
      { orgId, actor: { type: 'provider', id: 'twilio', label: 'Twilio' }, correlationId: randomUUID() },
      {
        streamId: consentStreamOf(orgId, phone),
        evolve,
        initial: null,
        decide: ({ state }, now) => ({
          append: decide(
            { type: 'OptOut', now: now.toISOString(), data: { orgId, phone, source: 'keyword', evidence: { body: 'STOP', by: phone } } },
            state,
          ),
        }),
      },
    );
  });
  await optOut;

  const evidence = async () => (await store.readStream(`booking-${booking.id}`)).filter((e) => e.type.startsWith('Reminder'));
  await until('the reminder has an outcome', async () => (await evidence()).length > 0, 60_000);
  await until('the reminder job is done', async () => (await reminderJobs()) === 0, 30_000);
  t.equal(twilio.received.length, 0, 'Twilio received nothing');
  t.match(
    (await evidence()).map((e) => [e.type, e.data]),
    [['ReminderSkipped', { reason: 'opted_out' }]],
  );
  const { rows } = await sql`select job_key from outbound_messages`.execute(db);
  t.same(rows, [], 'no send intent was recorded');
});
