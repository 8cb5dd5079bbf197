import { type ChildProcess } from 'node:child_process';
import { spawnOwned } from '../support/processes.ts';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { sql } from 'kysely';
import t from 'tap';
import { jobKeys } from '../../src/automation/keys.ts';
import { evidenceEventId } from '../../src/domain/ids.ts';
import { TASKS } from '../../src/automation/process-manager.ts';
import { createBooking } from '../../src/commands/bookings.ts';
import { configureOrg, createOrg } from '../../src/commands/orgs.ts';
import { migrateJobQueue } from '../../src/db/migrate.ts';
import { PostgresEventStore } from '../../src/eventstore/postgres/store.ts';
import { operator } from '../support/app.ts';
import { daytimeZone, NO_PLACE } from '../support/daytime.ts';
import { testDatabase } from '../support/db.ts';
import { ACCOUNT_SID, AUTH_TOKEN, fakeTwilio } from './fake-twilio.ts';

/**
 * Real `callsnare worker` processes on one database, with the real clock. The bookings' reminders are
 * due in days; the test pulls every queued reminder forward (run_at = now()) so that all 3,000 messages
 * (1,000 confirmations, 2,000 reminders) go through the workers while they race, one is killed with
 * SIGKILL mid-run and replaced, and another is stopped with SIGTERM.
 */
const BOOKINGS = 1000;
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

const database = await testDatabase(t);
const { db, pool } = database;
await migrateJobQueue(pool);
const store = new PostgresEventStore({ pool, url: database.url, pollIntervalMs: 100 });
t.teardown(() => store.close());
const deps = { store, clock: () => new Date() };

interface Worker {
  readonly child: ChildProcess;
  readonly ready: Promise<{ poolId: string }>;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly released: number[];
}

const workers: Worker[] = [];
t.teardown(() => {
  for (const w of workers) if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGKILL');
});

function startWorker(
  args: string[] = ['--concurrency', '4', '--recovery-interval', '1', '--shutdown-timeout', '5'],
  env: Record<string, string> = {},
): Worker {
  const child = spawnOwned(process.execPath, ['bin/callsnare.js', 'worker', ...args], {
    cwd: root,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, DATABASE_URL: database.url, LOG_LEVEL: 'info', MESSAGING: 'log', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const released: number[] = [];
  const ready = new Promise<{ poolId: string }>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      let entry: { msg?: string; poolId?: string; jobs?: number };
      try {
        entry = JSON.parse(line) as typeof entry;
      } catch {
        return;
      }
      if (entry.msg === 'automation worker running') resolve({ poolId: entry.poolId! });
      if (entry.msg === 'released the jobs of a dead worker') released.push(entry.jobs ?? 0);
    });
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('exit', (code) => reject(new Error(`worker exited (${code}) before it was ready: ${stderr}`)));
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const worker = { child, ready, exited, released };
  workers.push(worker);
  return worker;
}

const count = async (query: ReturnType<typeof sql<{ n: string }>>) => Number((await query.execute(db)).rows[0]!.n);
const sent = () => count(sql<{ n: string }>`select count(*) as n from outbound_messages`);
const queued = () => count(sql<{ n: string }>`select count(*) as n from graphile_worker.jobs`);
const lockedBy = (poolId: string) => count(sql<{ n: string }>`select count(*) as n from graphile_worker.jobs where locked_by = ${poolId}`);

async function until(what: string, check: () => Promise<boolean>, timeoutMs: number, everyMs = 50): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

t.test('4 workers × 1,000 bookings: every message sent exactly once, through a SIGKILL and a SIGTERM', async (t) => {
  const orgId = randomUUID();
  await createOrg(deps, operator(orgId), { orgId, name: 'Acme HVAC', timezone: daytimeZone(), phones: ['+15125550100'] });
  await configureOrg(deps, operator(orgId), { orgId, changes: { a2pCampaignId: 'CM0123456789abcdef0123456789abcdef' } });
  const started = Date.now();
  for (let i = 0; i < 4; i++) startWorker();
  const pools = await Promise.all(workers.map((w) => w.ready));
  t.comment(`4 workers ready in ${Date.now() - started} ms`);

  // Reminders are due in days: pull them forward as they are queued, so they race too.
  let pulling = true;
  const puller = (async () => {
    while (pulling) {
      await sql`update graphile_worker._private_jobs set run_at = now() where run_at > now() and locked_at is null`.execute(db);
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  t.teardown(() => {
    pulling = false;
    return puller.catch(() => {});
  });

  const t0 = Date.now();
  const start = new Date(Date.now() + 3 * 86_400_000);
  start.setUTCMinutes(0, 0, 0);
  const window = { start: start.toISOString(), end: new Date(start.getTime() + 7_200_000).toISOString() };
  const caller = { orgId, actor: { type: 'integration' as const, id: 'load', label: 'Load test' }, correlationId: 'load' };
  let next = 0;
  const creating = Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < BOOKINGS) {
        const i = next++;
        await createBooking(deps, caller, { customer: { name: `Customer ${i}`, phone: `${NO_PLACE}${String(5_000_000 + i)}` }, window });
      }
    }),
  ).then(() => t.comment(`${BOOKINGS} bookings created in ${Date.now() - t0} ms`));

  // Mid-run, SIGKILL a worker while it holds jobs, then start a replacement. A worker seen holding jobs may
  // finish them in the moment before the kill lands (when the queue runs dry on a loaded machine): then
  // another one is killed a little later, at most four in all.
  const killed = new Set<Worker>();
  let orphaned = 0;
  for (let attempt = 1; attempt <= 4 && orphaned === 0; attempt++) {
    let victim: Worker | undefined;
    let victimPool = '';
    await until(
      `a worker holding jobs after ${300 * attempt} messages`,
      async () => {
        if ((await sent()) < 300 * attempt) return false;
        for (const [i, pool] of pools.entries()) {
          if (killed.has(workers[i]!)) continue;
          if ((await lockedBy(pool.poolId)) > 0) {
            victim = workers[i];
            victimPool = pool.poolId;
            return true;
          }
        }
        return false;
      },
      30_000,
      2,
    );
    victim!.child.kill('SIGKILL');
    await victim!.exited;
    killed.add(victim!);
    orphaned = await lockedBy(victimPool);
    t.comment(`killed a worker holding ${orphaned} job(s) at ${await sent()} messages sent`);
    pools.push(await startWorker().ready);
  }
  t.ok(orphaned > 0, 'the killed worker left jobs locked');

  // SIGTERM another one mid-run: it finishes or releases its running job and exits cleanly.
  const stopping = workers.find((w, i) => i > 0 && !killed.has(w))!;
  const stoppingPool = pools[workers.indexOf(stopping)]!.poolId;
  t.comment(`SIGTERM to a worker holding ${await lockedBy(stoppingPool)} job(s) at ${await sent()} messages sent`);
  stopping.child.kill('SIGTERM');
  const stop = await stopping.exited;
  t.same(stop, { code: 0, signal: null }, 'SIGTERM: exit 0');
  t.equal(await lockedBy(stoppingPool), 0, 'SIGTERM: no job left locked by the stopped worker');

  await creating;
  await until('all messages sent and the queue empty', async () => (await sent()) === 3 * BOOKINGS && (await queued()) === 0, 90_000, 100);
  pulling = false;
  await puller;
  const seconds = (Date.now() - t0) / 1000;
  t.comment(
    `${3 * BOOKINGS} messages in ${seconds.toFixed(1)} s (${((3 * BOOKINGS) / seconds).toFixed(0)} jobs/s including booking creation)`,
  );
  t.ok(
    workers.some((w) => w.released.length > 0),
    'a surviving worker released the jobs the killed one held',
  );

  const doubled = await sql<{
    job_key: string;
    n: string;
  }>`select job_key, count(*) as n from outbound_messages group by job_key having count(*) > 1`.execute(db);
  t.same(doubled.rows, [], 'no job key sent twice');
  const perBooking = await sql<{ kinds: string; n: string }>`
    select kinds, count(*) as n from (
      select subject, string_agg(kind, ',' order by kind) as kinds from outbound_messages group by subject
    ) s group by kinds`.execute(db);
  t.same(
    perBooking.rows.map((r) => [r.kinds, Number(r.n)]),
    [['confirmation,reminder,reminder', BOOKINGS]],
    'every booking: one confirmation and two reminders',
  );

  const evidence = await sql<{ event_type: string; n: string; streams: string }>`
    select event_type, count(*) as n, count(distinct stream_id) as streams from es_events
     where event_type in ('ConfirmationSent', 'ConfirmationSkipped', 'ConfirmationFailed', 'ReminderSent', 'ReminderSkipped', 'ReminderFailed')
     group by event_type order by event_type`.execute(db);
  t.same(
    evidence.rows.map((r) => [r.event_type, Number(r.n), Number(r.streams)]),
    [
      ['ConfirmationSent', BOOKINGS, BOOKINGS],
      ['ReminderSent', 2 * BOOKINGS, BOOKINGS],
    ],
    'each message recorded once, nothing skipped or failed',
  );
  const keys = (await sql<{ job_key: string; message_id: string }>`select job_key, message_id from outbound_messages`.execute(db)).rows;
  const recorded = new Map(
    (
      await sql<{
        event_id: string;
        message_id: string;
      }>`select event_id, data->>'messageId' as message_id from es_events where event_type in ('ConfirmationSent', 'ReminderSent')`.execute(
        db,
      )
    ).rows.map((r) => [r.event_id, r.message_id]),
  );
  t.ok(
    keys.every((k) => recorded.get(evidenceEventId(k.job_key)) === k.message_id),
    'every sent message has its evidence event (deterministic id) naming it',
  );
  const retried = await count(sql<{ n: string }>`select coalesce(sum(requests - 1), 0) as n from outbound_messages`);
  t.comment(`${retried} repeated send request(s) absorbed by the ledger`);
  t.equal(await count(sql<{ n: string }>`select count(*) as n from graphile_worker.jobs where task_identifier = ${TASKS.confirmation}`), 0);

  for (const w of workers) if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGTERM');
  const exits = await Promise.all(workers.filter((w) => !killed.has(w) && w !== stopping).map((w) => w.exited));
  t.same(
    exits.map((e) => e.code),
    [0, 0, 0],
    'the remaining workers stop cleanly on SIGTERM',
  );
});

t.test('SIGTERM lets a running job finish; past the shutdown timeout it aborts the send and releases the job for a retry', async (t) => {
  const twilio = fakeTwilio();
  const baseUrl = await twilio.listen();
  t.teardown(() => twilio.close());
  const env = { MESSAGING: 'twilio', TWILIO_ACCOUNT_SID: ACCOUNT_SID, TWILIO_AUTH_TOKEN: AUTH_TOKEN, TWILIO_API_BASE_URL: baseUrl };
  const args = ['--concurrency', '1', '--shutdown-timeout', '1'];
  const orgId = randomUUID();
  await createOrg(deps, operator(orgId), { orgId, name: 'Acme HVAC', timezone: daytimeZone(), phones: ['+15125550100'] });
  await configureOrg(deps, operator(orgId), { orgId, changes: { a2pCampaignId: 'CM0123456789abcdef0123456789abcdef' } });
  const caller = { orgId, actor: { type: 'integration' as const, id: 'sigterm', label: 'SIGTERM test' }, correlationId: 'sigterm' };
  const window = {
    start: new Date(Date.now() + 5 * 86_400_000).toISOString(),
    end: new Date(Date.now() + 5 * 86_400_000 + 3_600_000).toISOString(),
  };
  const confirmationJob = async (bookingId: string) =>
    (
      await sql<{ attempts: number; locked_by: string | null; last_error: string | null }>`
        select attempts, locked_by, last_error from graphile_worker.jobs where key = ${jobKeys.confirmation(bookingId)}`.execute(db)
    ).rows;
  const evidence = async (bookingId: string) =>
    (
      await sql<{
        event_type: string;
      }>`select event_type from es_events where stream_id = ${`booking-${bookingId}`} order by stream_revision`.execute(db)
    ).rows.map((r) => r.event_type);

  // A slow Twilio: SIGTERM arrives while the text is in flight; the job finishes, then the worker exits.
  twilio.delay(400);
  const worker = startWorker(args, env);
  await worker.ready;
  const { booking: slow } = await createBooking(deps, caller, { customer: { name: 'Slow Lane', phone: `${NO_PLACE}5550161` }, window });
  await twilio.requests(1);
  worker.child.kill('SIGTERM');
  t.same(await worker.exited, { code: 0, signal: null }, 'exit 0 after the job finished');
  t.same(await confirmationJob(slow.id), [], 'the job completed');
  t.same(await evidence(slow.id), ['BookingCreated', 'ConfirmationSent']);

  // A Twilio that never answers: after the shutdown timeout the send is aborted and the job released.
  twilio.delay(Infinity);
  const second = startWorker(args, env);
  await second.ready;
  const { booking: stuck } = await createBooking(deps, caller, { customer: { name: 'Stuck Lane', phone: `${NO_PLACE}5550162` }, window });
  await twilio.requests(2);
  const signalled = Date.now();
  second.child.kill('SIGTERM');
  t.same(await second.exited, { code: 0, signal: null }, 'exit 0');
  t.ok(Date.now() - signalled < 5000, `stopped within the shutdown timeout (${Date.now() - signalled} ms)`);
  const [released] = await confirmationJob(stuck.id);
  t.match(released, { attempts: 1, locked_by: null, last_error: /abort/i }, 'released, to be retried');
  t.same(await evidence(stuck.id), ['BookingCreated'], 'nothing recorded');

  // The retry, by a fresh worker with Twilio back, sends it once.
  twilio.delay(0);
  await sql`update graphile_worker._private_jobs set run_at = now() where key = ${jobKeys.confirmation(stuck.id)}`.execute(db);
  const third = startWorker(args, env);
  await third.ready;
  await until('the retried confirmation', async () => (await evidence(stuck.id)).length === 2, 20_000);
  t.same(await evidence(stuck.id), ['BookingCreated', 'ConfirmationSent']);
  t.equal(twilio.received.filter((r) => r.form.To === `${NO_PLACE}5550162`).length, 2, 'one aborted POST, one that went through');
  t.equal(
    (await sql<{ n: string }>`select count(*) as n from outbound_messages where job_key = ${jobKeys.confirmation(stuck.id)}`.execute(db))
      .rows[0]!.n,
    '1',
  );
  third.child.kill('SIGTERM');
  t.same(await third.exited, { code: 0, signal: null });
});
