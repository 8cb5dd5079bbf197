// Create booking over HTTP (the real app, projectors live, 64 connections) next to a raw single-row
// INSERT baseline (64 pg clients, a similar jsonb payload) on the same database. The ratio is the figure.
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { waitForCheckpoints } from '../src/subscriptions/engine.ts';
import { openBenchApp } from './app.ts';
import { type Benchmark, type Row, Samples, round, since } from './common.ts';
import { load } from './load.ts';

const CONNECTIONS = 64;

/** A create body as an integration sends it (CONTRACT §3): window a week ahead, 2 h long. */
export function createBody(startsAt: Date, n = 0): Record<string, unknown> {
  const end = new Date(startsAt.getTime() + 2 * 3600_000);
  return {
    customer: {
      name: 'Dana Whitfield',
      phone: `+1512555${String(n % 10_000).padStart(4, '0')}`,
      email: 'dana.whitfield@example.com',
      address: { line1: '4100 Speedway', city: 'Austin', region: 'TX', postalCode: '78751' },
    },
    window: { start: startsAt.toISOString(), end: end.toISOString() },
    service: { type: 'ac_repair', summary: 'Upstairs unit blowing warm air; thermostat reads 82F' },
    notes: 'Gate code 4471. Dog in the backyard.',
    externalRef: 'bench-crm-1',
  };
}

export const httpCreateBench: Benchmark = async (ctx) => {
  const durationSec = ctx.quick ? 3 : 10;
  const warmupSec = ctx.quick ? 1 : 3;
  const rows: Row[] = [];
  const figures: Record<string, unknown> = { connections: CONNECTIONS, durationSec, warmupSec };

  // ── HTTP
  const bench = await openBenchApp(ctx.url);
  let sample: unknown;
  let httpRps = 0;
  try {
    const { orgId, token } = await bench.orgWithToken('Bench Create HVAC');
    bench.startProjectors();
    const startsAt = new Date(Date.now() + 7 * 86400_000);
    startsAt.setUTCHours(15, 0, 0, 0);
    const body = JSON.stringify(createBody(startsAt));
    const headers = { 'content-type': 'application/json', authorization: `Bearer ${token}` };
    const url = `${bench.baseUrl}/api/private/v1/bookings`;

    const check = await fetch(url, { method: 'POST', headers, body });
    if (check.status !== 201) throw new Error(`POST /bookings answered ${check.status}: ${await check.text()}`);
    sample = await check.json();
    figures.requestBodyBytes = Buffer.byteLength(body);

    ctx.log(`http-create: warm-up ${warmupSec} s at ${CONNECTIONS} connections`);
    await load({ url, connections: CONNECTIONS, durationSec: warmupSec, method: 'POST', headers, body });
    const countBookingEvents = async () =>
      Number(
        (
          await bench.services.pool.query<{ n: string }>(`select count(*) as n from es_events where org_id = $1 and event_type = 'BookingCreated'`, [orgId])
        ).rows[0]!.n,
      );
    const before = await countBookingEvents();

    ctx.log(`http-create: POST /bookings for ${durationSec} s at ${CONNECTIONS} connections (projectors live)`);
    const http = await load({ url, connections: CONNECTIONS, durationSec, method: 'POST', headers, body });

    // How far the bookings read model trailed the writes when the load stopped.
    const head = await bench.services.store.headPosition();
    const lagStart = performance.now();
    const caughtUp = head ? await waitForCheckpoints(bench.services.db, ['bookings'], head, 120_000) : true;
    const catchUpMs = since(lagStart);
    const appended = (await countBookingEvents()) - before;

    rows.push({
      bench: 'http-create',
      case: `POST /bookings over HTTP, ${CONNECTIONS} connections`,
      value: http.rps,
      unit: 'req/s',
      p50Ms: http.p50Ms,
      p99Ms: http.p99Ms,
      errors: http.non2xx + http.errors,
      note: `${http.non2xx} non-2xx, ${http.errors} conn errors`,
    });
    rows.push({
      bench: 'http-create',
      case: 'bookings projection catch-up after the load',
      value: catchUpMs,
      unit: 'ms',
      note: caughtUp ? 'time for the read model to reach the head' : 'did not catch up within 120 s',
    });
    httpRps = http.rps;
    figures.http = { ...http, rps: round(http.rps, 1), bookingsAppendedDuringRun: appended, projectionCatchUpMs: round(catchUpMs, 1), projectionCaughtUp: caughtUp };
  } finally {
    await bench.close();
  }

  // ── raw INSERT baseline, same database, app closed
  const payload = JSON.stringify(sample);
  figures.insertPayloadBytes = Buffer.byteLength(payload);
  const pool = new pg.Pool({ connectionString: ctx.url, max: CONNECTIONS, application_name: 'bench-insert-baseline' });
  pool.on('error', () => {});
  try {
    await pool.query(`create table if not exists bench_insert_baseline (
      id uuid primary key,
      org_id uuid not null,
      payload jsonb not null,
      created_at timestamptz not null default now()
    )`);
    const orgId = randomUUID();
    const clients = await Promise.all(Array.from({ length: CONNECTIONS }, () => pool.connect()));
    const run = async (seconds: number, samples: Samples) => {
      const start = performance.now();
      const deadline = start + seconds * 1000;
      let inserts = 0;
      let errors = 0;
      await Promise.all(
        clients.map(async (client) => {
          while (performance.now() < deadline) {
            const t = performance.now();
            try {
              await client.query('insert into bench_insert_baseline (id, org_id, payload) values ($1, $2, $3)', [randomUUID(), orgId, payload]);
              inserts++;
            } catch {
              errors++;
            }
            samples.push(since(t));
          }
        }),
      );
      return { inserts, errors, elapsedMs: since(start) };
    };
    try {
      ctx.log(`http-create: INSERT baseline warm-up ${warmupSec} s`);
      await run(warmupSec, new Samples());
      ctx.log(`http-create: INSERT baseline ${durationSec} s with ${CONNECTIONS} clients`);
      const samples = new Samples();
      const result = await run(durationSec, samples);
      const insertsPerSec = result.inserts / (result.elapsedMs / 1000);
      rows.push({
        bench: 'http-create',
        case: `raw single-row INSERT (jsonb), ${CONNECTIONS} pg clients`,
        value: insertsPerSec,
        unit: 'inserts/s',
        p50Ms: samples.percentile(50),
        p99Ms: samples.percentile(99),
        errors: result.errors,
      });
      figures.insert = {
        insertsPerSec: round(insertsPerSec, 1),
        inserts: result.inserts,
        errors: result.errors,
        seconds: round(result.elapsedMs / 1000, 2),
        latencyMs: { p50: round(samples.percentile(50), 3), p99: round(samples.percentile(99), 3), mean: round(samples.mean(), 3) },
      };
      const ratio = httpRps / insertsPerSec;
      rows.push({ bench: 'http-create', case: 'ratio HTTP create / raw INSERT', value: ratio, unit: '×' });
      figures.ratioHttpToInsert = round(ratio, 4);
    } finally {
      for (const client of clients) client.release();
    }
  } finally {
    await pool.end();
  }
  return { title: 'Create booking over HTTP vs raw INSERT', rows, figures };
};
