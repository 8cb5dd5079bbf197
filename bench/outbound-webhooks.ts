// Outbound webhooks (CONTRACT §9): deliveries per second by real `callsnare worker` processes, 1 and 4
// of them (--concurrency 4 each, --no-process-manager, WEBHOOK_ALLOW_PRIVATE=1), against a local HTTP
// receiver in this process answering 204 at once, each count on a fresh database of its own
// (<bench database>_outbound_k<K>, dropped afterwards), beside the confirmation jobs of bench/automation.ts.
//
// Per worker count: an org with one endpoint (booking.created) on the receiver, N bookings through
// `createBooking` (each its own resource, so deliveries may go out in parallel), then the webhook
// subscriber catches up (one delivery row and one job per booking, timed: the recording rate). The jobs
// are parked while the K workers start; once all are running they are released and the clock runs
// until every delivery is `delivered`. Checked after: N deliveries, each received exactly once (no
// retries on a receiver that always answers).
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { webhookDeliveries } from '../src/automation/webhook-deliveries.ts';
import { createBooking } from '../src/commands/bookings.ts';
import { createOrg } from '../src/commands/orgs.ts';
import { addWebhookEndpoint } from '../src/commands/webhook-endpoints.ts';
import { createDb } from '../src/db/kysely.ts';
import { PostgresEventStore } from '../src/eventstore/postgres/store.ts';
import { catchUp } from '../src/subscriptions/engine.ts';
import { customerPhone, middayTimeZone, operator } from './app.ts';
import { type Benchmark, type Row, pool, round, since, sleep, spreadOf } from './common.ts';
import { type BenchProcess, isRunning, spawnCallsnare, stopProcesses, within } from './processes.ts';
import { ratioRow } from './rounds.ts';
import { openScratchDatabase } from './setup.ts';

const WORKER_COUNTS = [1, 4] as const;
const WORKER_CONCURRENCY = 4;
const CREATE_CONCURRENCY = 16;
const TIMEOUT_MS = 300_000;

interface RunResult {
  readonly workers: number;
  readonly deliveries: number;
  readonly recordSec: number;
  readonly sendSec: number;
  readonly received: number;
}

/** The receiver: answers every POST with 204 and counts them by webhook-id. */
async function startReceiver() {
  const seen = new Map<string, number>();
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const id = String(req.headers['webhook-id']);
      seen.set(id, (seen.get(id) ?? 0) + 1);
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function runOnce(ctx: Parameters<Benchmark>[0], workerCount: number, count: number): Promise<RunResult> {
  const scratch = await openScratchDatabase(ctx.url, `outbound_k${workerCount}`, { jobQueue: true });
  const { db, pool: pgPool } = createDb({ url: scratch.url, max: CREATE_CONCURRENCY + 4, applicationName: 'bench-outbound-webhooks' });
  const store = new PostgresEventStore({ pool: pgPool, url: scratch.url });
  const deps = { store, clock: () => new Date() };
  const receiver = await startReceiver();
  const workers: BenchProcess[] = [];
  const delivered = async () =>
    Number((await pgPool.query<{ n: string }>(`select count(*) as n from webhook_deliveries where status = 'delivered'`)).rows[0]!.n);
  try {
    const orgId = randomUUID();
    await createOrg(deps, operator(orgId), { orgId, name: 'Bench Webhooks HVAC', timezone: middayTimeZone(), phones: ['+15125550100'] });
    await addWebhookEndpoint({ ...deps, db, allowPrivate: true }, operator(orgId), { url: receiver.url, events: ['booking.created'] });

    ctx.log(`outbound-webhooks: K=${workerCount}: ${count} bookings in ${scratch.database}`);
    const start = new Date(Date.now() + 3 * 86400_000);
    start.setUTCHours(15, 0, 0, 0);
    const window = { start: start.toISOString(), end: new Date(start.getTime() + 2 * 3600_000).toISOString() };
    const caller = {
      orgId,
      actor: { type: 'integration' as const, id: randomUUID(), label: 'Bench integration' },
      correlationId: randomUUID(),
    };
    await pool(count, CREATE_CONCURRENCY, async (i) => {
      await createBooking(deps, caller, { customer: { name: `Customer ${i}`, phone: customerPhone(i) }, window });
    });

    const recordStart = performance.now();
    let handled = await catchUp({ db, store }, webhookDeliveries);
    while (handled < count && since(recordStart) < 60_000) {
      await sleep(20);
      handled += await catchUp({ db, store }, webhookDeliveries);
    }
    const recordMs = since(recordStart);
    const jobs = Number((await pgPool.query<{ n: string }>('select count(*) as n from graphile_worker._private_jobs')).rows[0]!.n);
    if (handled !== count || jobs !== count)
      throw new Error(`webhook subscriber handled ${handled} events, ${jobs} jobs; expected ${count}`);

    await pgPool.query(`update graphile_worker._private_jobs set run_at = now() + interval '1 day'`);
    for (let i = 0; i < workerCount; i++) {
      workers.push(
        spawnCallsnare(
          scratch.url,
          ['worker', '--concurrency', String(WORKER_CONCURRENCY), '--no-process-manager'],
          /^automation worker running$/,
          {
            WEBHOOK_ALLOW_PRIVATE: '1',
          },
        ),
      );
    }
    await within(120_000, 'worker start-up', Promise.all(workers.map((w) => w.ready)));
    // The deliveries' own retry time is now; only the jobs were parked.
    await pgPool.query(
      `with released as (update graphile_worker._private_jobs set run_at = now() returning 1)
       select pg_notify('jobs:insert', json_build_object('count', (select count(*) from released))::text)`,
    );
    const sendStart = performance.now();
    let done = 0;
    while ((done = await delivered()) < count) {
      if (since(sendStart) > TIMEOUT_MS) throw new Error(`only ${done} of ${count} deliveries after ${TIMEOUT_MS / 1000} s`);
      await sleep(20);
    }
    const sendMs = since(sendStart);
    await stopProcesses(workers);
    const twice = [...receiver.seen.values()].filter((n) => n > 1).length;
    if (receiver.seen.size !== count || twice > 0)
      throw new Error(`${receiver.seen.size} webhook-ids received (${twice} more than once); expected ${count} once each`);
    ctx.log(`outbound-webhooks: K=${workerCount}: ${count} deliveries in ${round(sendMs / 1000, 2)} s`);
    return { workers: workerCount, deliveries: count, recordSec: recordMs / 1000, sendSec: sendMs / 1000, received: receiver.seen.size };
  } finally {
    for (const w of workers) if (isRunning(w)) w.child.kill('SIGKILL');
    await Promise.all(workers.map((w) => w.exited));
    await receiver.close();
    await store.close();
    await db.destroy();
    await scratch.drop();
  }
}

export const outboundWebhooksBench: Benchmark = async (ctx) => {
  const count = ctx.quick ? 200 : 2000;
  const byCount = new Map<number, RunResult[]>(WORKER_COUNTS.map((k) => [k, []]));
  for (let r = 0; r < ctx.rounds; r++) {
    for (const k of r % 2 ? [...WORKER_COUNTS].reverse() : WORKER_COUNTS) {
      ctx.loadBefore(`outbound-webhooks: K=${k}, round ${r + 1}/${ctx.rounds}`);
      byCount.get(k)!.push(await runOnce(ctx, k, count));
    }
  }
  const rate = (r: RunResult) => r.deliveries / r.sendSec;
  const rates = (k: number) => byCount.get(k)!.map(rate);
  const rows: Row[] = [...byCount.keys()].map((k) => ({
    bench: 'outbound-webhooks',
    case: `deliveries to a local receiver, ${k} worker process${k === 1 ? '' : 'es'} × concurrency ${WORKER_CONCURRENCY}`,
    value: spreadOf(rates(k)).median,
    unit: 'deliveries/s',
    rounds: rates(k),
    note: `${count} deliveries per round, each received once`,
  }));
  const recordRates = [...byCount.values()].flat().map((r) => r.deliveries / r.recordSec);
  rows.push({
    bench: 'outbound-webhooks',
    case: 'webhook subscriber: record deliveries and queue their jobs (catch-up)',
    value: spreadOf(recordRates).median,
    unit: 'deliveries/s',
    rounds: recordRates,
    note: `${count} each`,
  });
  const [one, many] = WORKER_COUNTS;
  rows.push(ratioRow('outbound-webhooks', `ratio ${many} workers / ${one} worker`, rates(many), rates(one)));
  return {
    title: 'Outbound webhooks: signed deliveries through real worker processes',
    rows,
    figures: {
      deliveries: count,
      workerConcurrency: WORKER_CONCURRENCY,
      rounds: ctx.rounds,
      ...Object.fromEntries(
        [...byCount].map(([k, results]) => [
          `workers_${k}`,
          results.map((r) => ({ deliveriesPerSec: round(rate(r), 1), sendSec: round(r.sendSec, 3), recordSec: round(r.recordSec, 3) })),
        ]),
      ),
    },
    targets: [],
  };
};
