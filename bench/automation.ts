// Automation: booking confirmations sent per second by real `callsnare worker` processes, 1 and 4 of
// them (--concurrency 4 each, --no-process-manager, MESSAGING=log), each count on a fresh database
// of its own (<bench database>_automation_k<K>, dropped afterwards) with a fresh set of jobs, in
// rounds (the order of the counts alternating). A run fails unless every booking got exactly one
// message and one ConfirmationSent (0 doubles).
//
// Per worker count: migrate (graphile-worker's schema too), an org with reminderOffsetsMinutes [] (so
// a booking queues exactly one job: its confirmation), N bookings through `createBooking` (16 at a
// time), then `catchUpProcessManager` queues the N confirmation jobs (timed: the queueing rate). The
// jobs are then parked (run_at a day ahead) while the K workers start, so process start-up (loading
// the code, migrations check, graphile-worker pool) stays out of the figure; once every
// worker logged "automation worker running" they are released (run_at = now, one NOTIFY jobs:insert)
// and the clock runs until `outbound_messages` holds N rows. Checked after: N distinct job keys and
// N ConfirmationSent events, each message exactly once.
import { randomUUID } from 'node:crypto';
import { processManager } from '../src/automation/process-manager-runner.ts';
import { catchUp } from '../src/subscriptions/engine.ts';
import { createBooking } from '../src/commands/bookings.ts';
import { configureOrg, createOrg } from '../src/commands/orgs.ts';
import { createDb } from '../src/db/kysely.ts';
import { PostgresEventStore } from '../src/eventstore/postgres/store.ts';
import { customerPhone, middayTimeZone, operator } from './app.ts';
import { type Benchmark, type Row, Samples, pool, round, since, sleep, spreadOf } from './common.ts';
import { type CpuGroup, cpuBetween, cpuNote, cpuPerOperation, cpuSnapshot, medianCpu } from './cpu.ts';
import { type BenchProcess, isRunning, spawnCallsnare, stopProcesses, within } from './processes.ts';
import { ratioRow } from './rounds.ts';
import { openScratchDatabase } from './setup.ts';

const WORKER_COUNTS = [1, 4] as const;
const WORKER_CONCURRENCY = 4;
const CREATE_CONCURRENCY = 16;
const TIMEOUT_MS = 300_000;

/** `node bin/callsnare.js worker --concurrency 4 --no-process-manager` on `url`: a separate process, as deployed. */
function startWorker(url: string): BenchProcess {
  return spawnCallsnare(
    url,
    ['worker', '--concurrency', String(WORKER_CONCURRENCY), '--no-process-manager'],
    /^automation worker running$/,
  );
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
  /** Messages whose send was requested more than once (absorbed: still one message). */
  readonly retriedSends: number;
  readonly latencyMs: { p50: number; p99: number };
  /** CPU milliseconds per job by process group, from the release until the queue is empty (bench/cpu.ts). */
  readonly cpuMsPerJob: Record<CpuGroup, number> | undefined;
}

async function runOnce(ctx: Parameters<Benchmark>[0], workerCount: number, bookings: number): Promise<RunResult> {
  const scratch = await openScratchDatabase(ctx.url, `automation_k${workerCount}`, { jobQueue: true });
  const database = scratch.database;
  const { db, pool: pgPool } = createDb({ url: scratch.url, max: CREATE_CONCURRENCY + 4, applicationName: 'bench-automation' });
  const store = new PostgresEventStore({ pool: pgPool, url: scratch.url });
  const deps = { store, clock: () => new Date() };
  const workers: BenchProcess[] = [];
  const count = async (query: string) => Number((await pgPool.query<{ n: string }>(query)).rows[0]!.n);
  try {
    const orgId = randomUUID();
    await createOrg(deps, operator(orgId), { orgId, name: 'Bench Automation HVAC', timezone: middayTimeZone(), phones: ['+15125550100'] });
    await configureOrg(deps, operator(orgId), { orgId, changes: { reminderOffsetsMinutes: [] } });

    ctx.log(`automation: K=${workerCount}: ${bookings} bookings (createBooking, ${CREATE_CONCURRENCY} at a time) in ${database}`);
    const start = new Date(Date.now() + 3 * 86400_000);
    start.setUTCHours(15, 0, 0, 0);
    const window = { start: start.toISOString(), end: new Date(start.getTime() + 2 * 3600_000).toISOString() };
    const caller = {
      orgId,
      actor: { type: 'integration' as const, id: randomUUID(), label: 'Bench integration' },
      correlationId: randomUUID(),
    };
    const createStart = performance.now();
    await pool(bookings, CREATE_CONCURRENCY, async (i) => {
      await createBooking(deps, caller, { customer: { name: `Customer ${i}`, phone: customerPhone(i) }, window });
    });
    const createMs = since(createStart);

    ctx.log(`automation: K=${workerCount}: catchUpProcessManager`);
    const queueStart = performance.now();
    // A catch-up stops at the last position every committed append is known to be before; on a busy
    // machine the newest commits may become visible a moment later: catch up until every booking is in.
    let handled = await catchUp({ db, store }, processManager);
    while (handled < bookings && since(queueStart) < 60_000) {
      await sleep(20);
      handled += await catchUp({ db, store }, processManager);
    }
    const queueMs = since(queueStart);
    const jobsQueued = await count(`select count(*) as n from graphile_worker.jobs where task_identifier = 'booking-confirmation'`);
    const allJobs = await count('select count(*) as n from graphile_worker._private_jobs');
    if (handled !== bookings || jobsQueued !== bookings || allJobs !== bookings) {
      throw new Error(
        `process manager handled ${handled} events and queued ${jobsQueued} confirmations (${allJobs} jobs); expected ${bookings}`,
      );
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
    const cpuBefore = cpuSnapshot();
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
    const cpuMsPerJob = cpuPerOperation(cpuBetween(cpuBefore, cpuSnapshot()), bookings);
    await stopProcesses(workers);

    // Each message once: distinct job keys (the primary key) and one ConfirmationSent per booking.
    const distinctKeys = await count(`select count(distinct job_key) as n from outbound_messages where kind = 'confirmation'`);
    const confirmationsRecorded = await count(`select count(*) as n from es_events where event_type = 'ConfirmationSent'`);
    const doubled = await count('select count(*) as n from outbound_messages where requests > 1');
    if (distinctKeys !== bookings || confirmationsRecorded !== bookings) {
      throw new Error(
        `${distinctKeys} confirmation messages and ${confirmationsRecorded} ConfirmationSent events for ${bookings} bookings`,
      );
    }
    // Time from the release to each message, as the database saw it.
    const latency = new Samples();
    const { rows: sent } = await pgPool.query<{ ms: string }>(
      `select extract(epoch from (created_at - $1::timestamptz)) * 1000 as ms from outbound_messages`,
      [releasedAt],
    );
    for (const row of sent) latency.push(Number(row.ms));
    ctx.log(
      `automation: K=${workerCount}: ${bookings} confirmations sent in ${round(sendMs / 1000, 2)} s (${doubled} retried sends absorbed)`,
    );
    return {
      workers: workerCount,
      retriedSends: doubled,
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
      cpuMsPerJob,
    };
  } finally {
    for (const w of workers) if (isRunning(w)) w.child.kill('SIGKILL');
    await Promise.all(workers.map((w) => w.exited));
    await store.close();
    await db.destroy();
    await scratch.drop();
  }
}

export const automationBench: Benchmark = async (ctx) => {
  const bookings = ctx.quick ? 300 : 3000;
  const rows: Row[] = [];
  const figures: Record<string, unknown> = {
    bookings,
    workerConcurrency: WORKER_CONCURRENCY,
    createConcurrency: CREATE_CONCURRENCY,
    messaging: 'log',
    rounds: ctx.rounds,
  };
  const byCount = new Map<number, RunResult[]>(WORKER_COUNTS.map((k) => [k, []]));
  for (let r = 0; r < ctx.rounds; r++) {
    // Alternate the order, so a machine whose load moves hits both counts alike.
    for (const k of r % 2 ? [...WORKER_COUNTS].reverse() : WORKER_COUNTS) {
      ctx.loadBefore(`automation: K=${k}, round ${r + 1}/${ctx.rounds}`);
      byCount.get(k)!.push(await runOnce(ctx, k, bookings));
    }
  }
  const rate = (r: RunResult) => r.bookings / r.sendSec;
  const rates = (k: number) => byCount.get(k)!.map(rate);
  for (const [k, results] of byCount) {
    rows.push({
      bench: 'automation',
      case: `confirmations, ${k} worker process${k === 1 ? '' : 'es'} × concurrency ${WORKER_CONCURRENCY}`,
      value: spreadOf(rates(k)).median,
      unit: 'jobs/s',
      rounds: rates(k),
      note: [
        `${bookings} messages per round, each once (0 doubles); workers started in ${results.map((r) => round(r.startupSec, 1)).join(', ')} s`,
        cpuNote(medianCpu(results.map((r) => r.cpuMsPerJob)), 'job (all workers, release to empty queue)'),
      ]
        .filter(Boolean)
        .join('; '),
    });
  }
  const queueRates = [...byCount.values()].flat().map((r) => r.jobsQueued / r.queueSec);
  rows.push({
    bench: 'automation',
    case: 'process manager: queue confirmation jobs (catchUpProcessManager)',
    value: spreadOf(queueRates).median,
    unit: 'jobs/s',
    rounds: queueRates,
    note: `${bookings} jobs each`,
  });
  const [one, many] = WORKER_COUNTS;
  rows.push(ratioRow('automation', `ratio ${many} workers / ${one} worker`, rates(many), rates(one)));
  for (const [k, results] of byCount) {
    figures[`workers_${k}`] = results.map((r) => ({
      jobsPerSec: round(rate(r), 1),
      messages: r.messages,
      confirmationSentEvents: r.confirmationsRecorded,
      retriedSends: r.retriedSends,
      sendSec: round(r.sendSec, 3),
      untilQueueEmptySec: round(r.drainSec, 3),
      workerStartupSec: round(r.startupSec, 2),
      releaseToMessageMs: { p50: round(r.latencyMs.p50, 1), p99: round(r.latencyMs.p99, 1) },
      processManager: { jobsQueued: r.jobsQueued, seconds: round(r.queueSec, 3), jobsPerSec: round(r.jobsQueued / r.queueSec, 1) },
      createBookings: { seconds: round(r.createSec, 2), perSec: round(r.bookings / r.createSec, 1) },
      ...(r.cpuMsPerJob && { cpuMsPerJob: r.cpuMsPerJob }),
    }));
  }
  const oneRate = spreadOf(rates(one)).median;
  const manyRate = spreadOf(rates(many)).median;
  return {
    title: 'Automation: confirmation jobs through real worker processes',
    rows,
    figures,
    targets: [
      {
        figure: `confirmations sent, ${one} → ${many} worker processes`,
        before: '331 → 308 jobs/s',
        now: `${round(oneRate, 0)} → ${round(manyRate, 0)} jobs/s, 0 doubles${ctx.quick ? ` (${bookings} jobs)` : ''}`,
        target: '≥ 1,000 jobs/s, 0 doubles',
        met: manyRate >= 1000,
      },
    ],
  };
};
