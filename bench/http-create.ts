// Create booking over HTTP, 64 connections, in rounds (bench/rounds.ts): what `npm start` runs, the same
// split into `serve --no-worker` plus a `worker` process, and the floor (a minimal fastify 5 app that
// validates a similar body and does one INSERT, same pool size), all loaded alike in one run; then a raw
// single-row INSERT at the service's pool size (20 pg clients). The figures are the ratios.
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { issueCredential } from '../src/identity/index.ts';
import { createOrg } from '../src/commands/orgs.ts';
import { createDb } from '../src/db/kysely.ts';
import { PostgresEventStore } from '../src/eventstore/postgres/store.ts';
import { waitForCheckpoints } from '../src/subscriptions/engine.ts';
import { APP_POOL_SIZE, customerPhone, middayTimeZone, operator } from './app.ts';
import { setAutomationBacklogAside } from './backlog.ts';
import { type Benchmark, type Row, Samples, type TargetRow, round, since, spreadOf } from './common.ts';
import { loadInRounds, ratioRow, subjectFigures, subjectRow } from './rounds.ts';
import { floorSubject, npmStartSubject, splitSubject } from './subjects.ts';

const CONNECTIONS = 64;

/** A create body as an integration sends it (CONTRACT §3): window a week ahead, 2 h long. */
export function createBody(startsAt: Date, n = 0): Record<string, unknown> {
  const end = new Date(startsAt.getTime() + 2 * 3600_000);
  return {
    customer: {
      name: 'Dana Whitfield',
      phone: customerPhone(n % 10_000),
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
  const durationSec = ctx.quick ? 2 : 8;
  const warmupSec = ctx.quick ? 1 : 2;
  const rows: Row[] = [];
  const targets: TargetRow[] = [];
  const figures: Record<string, unknown> = {
    connections: CONNECTIONS,
    poolSize: APP_POOL_SIZE,
    durationSec,
    warmupSec,
    rounds: ctx.rounds,
  };

  const { db, pool } = createDb({ url: ctx.url, max: 4, applicationName: 'bench-http-create' });
  const store = new PostgresEventStore({ pool, url: ctx.url });
  try {
    const orgId = randomUUID();
    const deps = { store, clock: () => new Date() };
    await createOrg(deps, operator(orgId), { orgId, name: 'Bench Create HVAC', timezone: middayTimeZone(), phones: [] });
    const { token } = await issueCredential(deps, operator(orgId), {
      orgId,
      label: 'Bench integration',
      kind: 'integration',
      scopes: ['READ_BOOKINGS', 'WRITE_BOOKINGS'],
    });
    const startsAt = new Date(Date.now() + 7 * 86400_000);
    startsAt.setUTCHours(15, 0, 0, 0);
    const body = JSON.stringify(createBody(startsAt));
    figures.requestBodyBytes = Buffer.byteLength(body);
    const headers = { 'content-type': 'application/json', authorization: `Bearer ${token}` };

    // After each service run: how far the bookings read model trailed the writes when the load stopped.
    const catchUp = async () => {
      const head = await store.headPosition();
      const start = performance.now();
      const caughtUp = head ? await waitForCheckpoints(db, ['bookings'], head, 120_000) : true;
      return { projectionCatchUpMs: round(since(start), 1), caughtUp };
    };
    const service = npmStartSubject(ctx.url, catchUp);
    const split = splitSubject(ctx.url, catchUp);
    const floor = floorSubject(ctx.url);
    let sample: unknown;
    const runs = await loadInRounds(ctx, 'http-create', [floor, service, split], {
      path: (subject) => (subject === floor ? '/bookings' : '/api/private/v1/bookings'),
      connections: CONNECTIONS,
      method: 'POST',
      headers,
      body,
      warmupSec,
      durationSec,
      rounds: ctx.rounds,
      // Each run does the automation of its own requests only (see bench/backlog.ts).
      beforeStart: () => setAutomationBacklogAside({ db, pool, store }),
      // The credential is usable once the new process projected it: retry for a while.
      check: async (url, subject) => {
        const deadline = Date.now() + 60_000;
        for (;;) {
          const res = await fetch(url, { method: 'POST', headers, body });
          if (res.status === 201) {
            if (subject !== floor) sample ??= await res.json();
            return;
          }
          if (res.status !== 401 || Date.now() > deadline) throw new Error(`POST ${url} answered ${res.status}: ${await res.text()}`);
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      },
    });
    const [floorRuns, serviceRuns, splitRuns] = runs as [(typeof runs)[0], (typeof runs)[0], (typeof runs)[0]];
    const catchUpNote = (r: typeof serviceRuns) =>
      `read model caught up ${r.after.map((a) => `${String(a.projectionCatchUpMs)} ms`).join(', ')} after the load`;
    rows.push(subjectRow('http-create', floorRuns));
    rows.push(subjectRow('http-create', serviceRuns, catchUpNote(serviceRuns)));
    rows.push(subjectRow('http-create', splitRuns, catchUpNote(splitRuns)));
    for (const r of runs) figures[r.subject.key] = subjectFigures(r);

    // ── raw INSERT at the service's pool size, same database, every process stopped
    const insert = await insertBaseline(ctx, JSON.stringify(sample), { warmupSec, durationSec });
    rows.push(insert.row);
    figures.insert = insert.figures;
    const rps = (r: typeof floorRuns) => r.runs.map((x) => x.rps);
    rows.push(ratioRow('http-create', 'ratio `npm start` / floor', rps(serviceRuns), rps(floorRuns), 'per round, median; target ≥ 0.5×'));
    rows.push(ratioRow('http-create', 'ratio `serve --no-worker` + worker / floor', rps(splitRuns), rps(floorRuns)));
    rows.push(ratioRow('http-create', `ratio \`npm start\` / raw INSERT (${APP_POOL_SIZE} clients)`, rps(serviceRuns), insert.perRound));
    rows.push(ratioRow('http-create', `ratio floor / raw INSERT (${APP_POOL_SIZE} clients)`, rps(floorRuns), insert.perRound));
    const vsFloor = spreadOf(rps(serviceRuns).map((v, i) => v / rps(floorRuns)[i]!)).median;
    const p99 = spreadOf(serviceRuns.runs.map((r) => r.p99Ms)).median;
    const splitVsFloor = spreadOf(rps(splitRuns).map((v, i) => v / rps(floorRuns)[i]!)).median;
    const splitP99 = spreadOf(splitRuns.runs.map((r) => r.p99Ms)).median;
    targets.push({
      figure: `POST /bookings over HTTP, ${CONNECTIONS} conns, vs the fastify+INSERT floor`,
      before: 'not measured (0.053× raw INSERT at 64 clients)',
      now: `${vsFloor.toFixed(2)}× floor, p99 ${p99} ms (npm start); ${splitVsFloor.toFixed(2)}×, p99 ${splitP99} ms (serve --no-worker + worker)`,
      target: '≥ 0.5× the floor, p99 ≤ 50 ms',
      met: vsFloor >= 0.5 && p99 <= 50,
    });
  } finally {
    await store.close();
    await db.destroy();
  }
  return { title: 'Create booking over HTTP vs the fastify floor and raw INSERT', rows, figures, targets };
};

/** Single-row INSERTs of `payload` (jsonb) from {@link APP_POOL_SIZE} pg clients, `ctx.rounds` rounds. */
async function insertBaseline(ctx: Parameters<Benchmark>[0], payload: string, timing: { warmupSec: number; durationSec: number }) {
  const pool = new pg.Pool({ connectionString: ctx.url, max: APP_POOL_SIZE, application_name: 'bench-insert-baseline' });
  pool.on('error', () => {});
  try {
    await pool.query(`create table if not exists bench_insert_baseline (
      id uuid primary key,
      org_id uuid not null,
      payload jsonb not null,
      created_at timestamptz not null default now()
    )`);
    const orgId = randomUUID();
    const clients = await Promise.all(Array.from({ length: APP_POOL_SIZE }, () => pool.connect()));
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
              await client.query('insert into bench_insert_baseline (id, org_id, payload) values ($1, $2, $3)', [
                randomUUID(),
                orgId,
                payload,
              ]);
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
      await run(timing.warmupSec, new Samples());
      const perRound: number[] = [];
      const p50: number[] = [];
      const p99: number[] = [];
      const loadBefore: number[] = [];
      let errors = 0;
      for (let r = 0; r < ctx.rounds; r++) {
        loadBefore.push(ctx.loadBefore(`http-create: raw INSERT, round ${r + 1}/${ctx.rounds}`));
        const samples = new Samples();
        const result = await run(timing.durationSec, samples);
        perRound.push(result.inserts / (result.elapsedMs / 1000));
        p50.push(samples.percentile(50));
        p99.push(samples.percentile(99));
        errors += result.errors;
      }
      const row: Row = {
        bench: 'http-create',
        case: `raw single-row INSERT (jsonb), ${APP_POOL_SIZE} pg clients (the service's pool size)`,
        value: spreadOf(perRound).median,
        unit: 'inserts/s',
        p50Ms: spreadOf(p50).median,
        p99Ms: spreadOf(p99).median,
        errors,
        rounds: perRound,
      };
      const figures = {
        clients: APP_POOL_SIZE,
        insertsPerSec: perRound.map((v) => round(v, 1)),
        p50Ms: p50.map((v) => round(v, 3)),
        p99Ms: p99.map((v) => round(v, 3)),
        errors,
        loadAverageBefore: loadBefore,
      };
      return { row, figures, perRound };
    } finally {
      for (const client of clients) client.release();
    }
  } finally {
    await pool.end();
  }
}
