// Automation: booking confirmations sent per second by real `callsnare worker` processes, 1 and 4 of
// them (--concurrency 4 each, --no-process-manager, MESSAGING=log), each count on a fresh database
// of its own (callsnare_bench_automation_k<K>, dropped afterwards) with a fresh set of jobs.
//
// Per worker count: migrate (graphile-worker's schema too), an org with reminderOffsetsMinutes [] (so
// a booking queues exactly one job: its confirmation), N bookings through `createBooking` (16 at a
// time), then `catchUpProcessManager` queues the N confirmation jobs (timed: the queueing rate). The
// jobs are then parked (run_at a day ahead) while the K workers start, so process start-up (tsx
// loading the sources, migrations check, graphile-worker pool) stays out of the figure; once every
// worker logged "automation worker running" they are released (run_at = now, one NOTIFY jobs:insert)
// and the clock runs until `outbound_messages` holds N rows. Checked after: N distinct job keys and
// N ConfirmationSent events, each message exactly once.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { processManager } from '../src/automation/process-manager-runner.ts';
import { catchUp } from '../src/subscriptions/engine.ts';
import { createBooking } from '../src/commands/bookings.ts';
import { configureOrg, createOrg } from '../src/commands/orgs.ts';
import { createDb } from '../src/db/kysely.ts';
import { PostgresEventStore } from '../src/eventstore/postgres/store.ts';
import { operator } from './app.ts';
import { type Benchmark, type Row, Samples, pool, round, since, sleep } from './common.ts';
import { openScratchDatabase } from './setup.ts';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const WORKER_COUNTS = [1, 4] as const;
const WORKER_CONCURRENCY = 4;
const CREATE_CONCURRENCY = 16;
const TIMEOUT_MS = 300_000;

interface WorkerProcess {
  readonly child: ChildProcess;
  readonly ready: Promise<void>;
  readonly exited: Promise<void>;
}

/** `node bin/callsnare.js worker --concurrency 4 --no-process-manager` on `url`, its log read line by line. */
function startWorker(url: string): WorkerProcess {
  const child = spawn(process.execPath, ['bin/callsnare.js', 'worker', '--concurrency', String(WORKER_CONCURRENCY), '--no-process-manager'], {
    cwd: REPO,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, DATABASE_URL: url, LOG_LEVEL: 'info', MESSAGING: 'log' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    if (stderr.length < 10_000) stderr += chunk.toString();
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const ready = new Promise<void>((resolve, reject) => {
    // Read every line (one per message sent at info): an unread pipe would block the worker.
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (!line.includes('automation worker running')) return;
      try {
        if ((JSON.parse(line) as { msg?: string }).msg === 'automation worker running') resolve();
      } catch {
        // not a log line
      }
    });
    child.once('exit', (code, signal) => reject(new Error(`worker exited (${code ?? signal}) before it was ready: ${stderr.trim()}`)));
  });
  ready.catch(() => {});
  return { child, ready, exited };
}

/** `promise`, or a rejection naming `what` after `ms`. */
async function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
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

const running = (w: WorkerProcess) => w.child.exitCode === null && w.child.signalCode === null;

/** SIGTERM (the worker finishes or releases its jobs), SIGKILL after 20 s. */
async function stopWorkers(workers: readonly WorkerProcess[]): Promise<void> {
  for (const w of workers) if (running(w)) w.child.kill('SIGTERM');
  await within(20_000, 'worker shutdown', Promise.all(workers.map((w) => w.exited))).catch(() => {
    for (const w of workers) if (running(w)) w.child.kill('SIGKILL');
  });
  await Promise.all(workers.map((w) => w.exited));
}

interface RunResult {
  readonly workers: number;
  readonly bookings: number;
  readonly createSec: number;
  readonly queueSec: number;
  readonly jobsQueued: number;
  readonly startupSec: number;
  readonly sendSec: number;
  readonly drainSec: number;
  readonly messages: number;
  readonly confirmationsRecorded: number;
  readonly latencyMs: { p50: number; p99: number };
}

async function runOnce(ctx: Parameters<Benchmark>[0], workerCount: number, bookings: number): Promise<RunResult> {
  const database = `callsnare_bench_automation_k${workerCount}`;
  const scratch = await openScratchDatabase(ctx.url, database, { jobQueue: true });
  const { db, pool: pgPool } = createDb({ url: scratch.url, max: CREATE_CONCURRENCY + 4, applicationName: 'bench-automation' });
  const store = new PostgresEventStore({ pool: pgPool, url: scratch.url });
  const deps = { store, clock: () => new Date() };
  const workers: WorkerProcess[] = [];
  const count = async (query: string) => Number((await pgPool.query<{ n: string }>(query)).rows[0]!.n);
  try {
    const orgId = randomUUID();
    await createOrg(deps, operator(orgId), { orgId, name: 'Bench Automation HVAC', timezone: 'America/Chicago', phones: ['+15125550100'] });
    await configureOrg(deps, operator(orgId), { orgId, changes: { reminderOffsetsMinutes: [] } });

    ctx.log(`automation: K=${workerCount}: ${bookings} bookings (createBooking, ${CREATE_CONCURRENCY} at a time) in ${database}`);
    const start = new Date(Date.now() + 3 * 86400_000);
    start.setUTCHours(15, 0, 0, 0);
    const window = { start: start.toISOString(), end: new Date(start.getTime() + 2 * 3600_000).toISOString() };
    const caller = { orgId, actor: { type: 'integration' as const, id: randomUUID(), label: 'Bench integration' }, correlationId: randomUUID() };
    const createStart = performance.now();
    await pool(bookings, CREATE_CONCURRENCY, async (i) => {
      await createBooking(deps, caller, { customer: { name: `Customer ${i}`, phone: `+1512${String(3_000_000 + i)}` }, window });
    });
    const createMs = since(createStart);

    ctx.log(`automation: K=${workerCount}: catchUpProcessManager`);
    const queueStart = performance.now();
    const handled = await catchUp({ db, store }, processManager);
    const queueMs = since(queueStart);
    const jobsQueued = await count(`select count(*) as n from graphile_worker.jobs where task_identifier = 'booking-confirmation'`);
    const allJobs = await count('select count(*) as n from graphile_worker._private_jobs');
    if (handled !== bookings || jobsQueued !== bookings || allJobs !== bookings) {
      throw new Error(`process manager handled ${handled} events and queued ${jobsQueued} confirmations (${allJobs} jobs); expected ${bookings}`);
    }

    // Park the jobs while the workers start.
    await pgPool.query(`update graphile_worker._private_jobs set run_at = now() + interval '1 day'`);
    ctx.log(`automation: K=${workerCount}: starting ${workerCount} worker process(es)`);
    const startupStart = performance.now();
    for (let i = 0; i < workerCount; i++) workers.push(startWorker(scratch.url));
    await within(120_000, 'worker start-up', Promise.all(workers.map((w) => w.ready)));
    const startupMs = since(startupStart);
    if ((await count('select count(*) as n from outbound_messages')) !== 0) throw new Error('a parked job ran before its release');

    ctx.log(`automation: K=${workerCount}: releasing ${bookings} confirmation jobs`);
    const { rows: released } = await pgPool.query<{ at: Date }>(
      `with released as (update graphile_worker._private_jobs set run_at = now() returning 1)
       select now() as at, pg_notify('jobs:insert', json_build_object('count', (select count(*) from released))::text)`,
    );
    const releasedAt = released[0]!.at;
    const sendStart = performance.now();
    let messages = 0;
    while ((messages = await count('select count(*) as n from outbound_messages')) < bookings) {
      if (since(sendStart) > TIMEOUT_MS) throw new Error(`only ${messages} of ${bookings} messages after ${TIMEOUT_MS / 1000} s`);
      await sleep(20);
    }
    const sendMs = since(sendStart);
    while ((await count('select count(*) as n from graphile_worker._private_jobs')) > 0) {
      if (since(sendStart) > TIMEOUT_MS) throw new Error('jobs still queued after the messages were sent');
      await sleep(20);
    }
    const drainMs = since(sendStart);
    await stopWorkers(workers);

    // Each message once: distinct job keys (the primary key) and one ConfirmationSent per booking.
    const distinctKeys = await count(`select count(distinct job_key) as n from outbound_messages where kind = 'confirmation'`);
    const confirmationsRecorded = await count(`select count(*) as n from es_events where event_type = 'ConfirmationSent'`);
    const doubled = await count('select count(*) as n from outbound_messages where requests > 1');
    if (distinctKeys !== bookings || confirmationsRecorded !== bookings) {
      throw new Error(`${distinctKeys} confirmation messages and ${confirmationsRecorded} ConfirmationSent events for ${bookings} bookings`);
    }
    // Time from the release to each message, as the database saw it.
    const latency = new Samples();
    const { rows: sent } = await pgPool.query<{ ms: number }>(`select extract(epoch from (created_at - $1::timestamptz)) * 1000 as ms from outbound_messages`, [releasedAt]);
    for (const row of sent) latency.push(Number(row.ms));
    ctx.log(`automation: K=${workerCount}: ${bookings} confirmations sent in ${round(sendMs / 1000, 2)} s (${doubled} retried sends absorbed)`);
    return {
      workers: workerCount,
      bookings,
      createSec: createMs / 1000,
      queueSec: queueMs / 1000,
      jobsQueued,
      startupSec: startupMs / 1000,
      sendSec: sendMs / 1000,
      drainSec: drainMs / 1000,
      messages,
      confirmationsRecorded,
      latencyMs: { p50: latency.percentile(50), p99: latency.percentile(99) },
    };
  } finally {
    for (const w of workers) if (running(w)) w.child.kill('SIGKILL');
    await Promise.all(workers.map((w) => w.exited));
    await store.close();
    await db.destroy();
    await scratch.drop();
  }
}

export const automationBench: Benchmark = async (ctx) => {
  const bookings = ctx.quick ? 300 : 3000;
  const rows: Row[] = [];
  const figures: Record<string, unknown> = { bookings, workerConcurrency: WORKER_CONCURRENCY, createConcurrency: CREATE_CONCURRENCY, messaging: 'log' };
  const results: RunResult[] = [];
  for (const k of WORKER_COUNTS) results.push(await runOnce(ctx, k, bookings));

  for (const r of results) {
    rows.push({
      bench: 'automation',
      case: `confirmations, ${r.workers} worker process${r.workers === 1 ? '' : 'es'} × concurrency ${WORKER_CONCURRENCY}`,
      value: r.bookings / r.sendSec,
      unit: 'jobs/s',
      note: `${r.bookings} messages in ${round(r.sendSec, 1)} s, each once; workers started in ${round(r.startupSec, 1)} s`,
    });
  }
  const queueRates = results.map((r) => r.jobsQueued / r.queueSec);
  rows.push({
    bench: 'automation',
    case: 'process manager: queue confirmation jobs (catchUpProcessManager)',
    value: queueRates.reduce((s, v) => s + v, 0) / queueRates.length,
    unit: 'jobs/s',
    note: `mean of ${queueRates.map((v) => round(v, 0)).join(' and ')} (${bookings} jobs each)`,
  });
  if (results.length === 2) {
    const ratio = results[1]!.bookings / results[1]!.sendSec / (results[0]!.bookings / results[0]!.sendSec);
    rows.push({ bench: 'automation', case: `ratio ${results[1]!.workers} workers / ${results[0]!.workers} worker`, value: ratio, unit: '×' });
    figures.ratio = round(ratio, 3);
  }
  for (const r of results) {
    figures[`workers_${r.workers}`] = {
      jobsPerSec: round(r.bookings / r.sendSec, 1),
      messages: r.messages,
      confirmationSentEvents: r.confirmationsRecorded,
      sendSec: round(r.sendSec, 3),
      untilQueueEmptySec: round(r.drainSec, 3),
      workerStartupSec: round(r.startupSec, 2),
      releaseToMessageMs: { p50: round(r.latencyMs.p50, 1), p99: round(r.latencyMs.p99, 1) },
      processManager: { jobsQueued: r.jobsQueued, seconds: round(r.queueSec, 3), jobsPerSec: round(r.jobsQueued / r.queueSec, 1) },
      createBookings: { seconds: round(r.createSec, 2), perSec: round(r.bookings / r.createSec, 1) },
    };
  }
  return { title: 'Automation: confirmation jobs through real worker processes', rows, figures };
};
