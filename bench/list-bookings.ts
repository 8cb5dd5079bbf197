// List bookings at 100 k bookings in one org: seed through the event store (BookingCreated, every 10th
// also BookingCanceled, 16 concurrent appenders), catch the bookings projection up (automation starts
// past them), then load GET /bookings (a 7-day range, limit 50) on what `npm start` runs and on the floor
// (a fastify route running the very SQL listBookings sends), in rounds; then the same with
// status=canceled and page 2 via nextCursor on the service alone.
import { randomUUID } from 'node:crypto';
import { loadOrg } from '../src/commands/org-reads.ts';
import { createPool } from '../src/db/kysely.ts';
import { type BookingEvent, bookingStream, decide, evolve } from '../src/domain/booking.ts';
import { PostgresEventStore } from '../src/eventstore/postgres/store.ts';
import { bookingsProjection } from '../src/projections/read-models/bookings.ts';
import { projector } from '../src/projections/projection.ts';
import { catchUp } from '../src/subscriptions/engine.ts';
import { listBookings, listBookingsStatement } from '../src/queries/bookings.ts';
import { openBenchApp } from './app.ts';
import { setAutomationBacklogAside } from './backlog.ts';
import { type Benchmark, type Row, Samples, type TargetRow, pool, round, since, spreadOf } from './common.ts';
import { loadInRounds, ratioRow, subjectFigures, subjectRow } from './rounds.ts';
import { floorSubject, npmStartSubject } from './subjects.ts';

const CONNECTIONS = 16;
const SEED_CONCURRENCY = 16;
/** Bookings per day of the seeded span: 100 k bookings cover 200 days. */
const PER_DAY = 500;
const CANCEL_EVERY = 10;

export const listBookingsBench: Benchmark = async (ctx) => {
  const total = ctx.quick ? 10_000 : 100_000;
  const spanDays = total / PER_DAY;
  const durationSec = ctx.quick ? 2 : 6;
  const warmupSec = ctx.quick ? 1 : 2;
  const rows: Row[] = [];
  const targets: TargetRow[] = [];
  const figures: Record<string, unknown> = {
    bookings: total,
    spanDays,
    canceledEvery: CANCEL_EVERY,
    connections: CONNECTIONS,
    durationSec,
    warmupSec,
  };

  const bench = await openBenchApp(ctx.url);
  let closed = false;
  try {
    const { orgId, token, credentialId, label } = await bench.orgWithToken('Bench List HVAC', ['READ_BOOKINGS']);
    const org = await loadOrg(bench.services, orgId);

    // ── seed: one append per booking (created, or created + canceled), straight into the store
    const base = new Date();
    base.setUTCDate(base.getUTCDate() + 1);
    base.setUTCHours(13, 0, 0, 0);
    const stepMs = Math.floor((spanDays * 86400_000) / total / 1000) * 1000;
    const seedPool = createPool({ url: ctx.url, max: SEED_CONCURRENCY, applicationName: 'bench-seed' });
    const seedStore = new PostgresEventStore({ pool: seedPool, url: ctx.url });
    const source = { actorType: 'integration' as const, actorId: credentialId, label };
    ctx.log(`list-bookings: seeding ${total} bookings (${SEED_CONCURRENCY} concurrent appends)`);
    const seedStart = performance.now();
    let events = 0;
    try {
      await pool(total, SEED_CONCURRENCY, async (i) => {
        const bookingId = randomUUID();
        const now = new Date().toISOString();
        const start = new Date(base.getTime() + i * stepMs);
        const window = { start: start.toISOString(), end: new Date(start.getTime() + 2 * 3600_000).toISOString() };
        const created = decide(
          {
            type: 'CreateBooking',
            now,
            data: {
              bookingId,
              orgId,
              window,
              customer: {
                name: `Customer ${i}`,
                phone: `+1512${String(i % 10_000_000).padStart(7, '0')}`,
                email: `customer${i}@example.com`,
              },
              service: { type: 'maintenance', summary: 'Seasonal tune-up' },
              source,
              reminderOffsetsMinutes: org.settings.reminderOffsetsMinutes,
              orgTimezone: org.timezone,
            },
          },
          null,
        );
        const batch: BookingEvent[] = [...created];
        if (i % CANCEL_EVERY === CANCEL_EVERY - 1) {
          const state = evolve(null, { ...created[0]!, occurredAt: now });
          batch.push(...decide({ type: 'CancelBooking', now, data: { bookingId, reason: 'customer canceled' } }, state));
        }
        const correlationId = randomUUID();
        const metadata = {
          orgId,
          actor: { type: 'integration' as const, id: credentialId, label },
          correlationId,
          causationId: correlationId,
          occurredAt: now,
        };
        await seedStore.append(
          bookingStream(bookingId),
          batch.map((e) => ({ id: randomUUID(), type: e.type, data: e.data, metadata })),
          { expectedRevision: 'no_stream' },
        );
        events += batch.length;
        if ((i + 1) % 20_000 === 0) ctx.log(`list-bookings: ${i + 1} bookings appended`);
      });
    } finally {
      await seedStore.close();
      await seedPool.end();
    }
    const appendMs = since(seedStart);

    ctx.log(`list-bookings: catching up the bookings projection (${events} events)`);
    const projectStart = performance.now();
    await catchUp(bench.services, projector(bookingsProjection));
    const projectMs = since(projectStart);
    // The seeded bookings are history to the process manager and the lead/booking reactor too: they start
    // past them, as on a database where automation came after the bookings, and the jobs earlier benches
    // left queued are set aside. Otherwise `npm start` spends the measured runs queueing and sending
    // confirmations (bench/automation.ts measures that). GETs queue nothing, so once is enough.
    await setAutomationBacklogAside(bench.services);
    await bench.services.pool.query('analyze bookings');
    const seeded = Number(
      (await bench.services.pool.query<{ n: string }>('select count(*) as n from bookings where org_id = $1', [orgId])).rows[0]!.n,
    );
    if (seeded !== total) throw new Error(`expected ${total} bookings in the read model, found ${seeded}`);
    rows.push({
      bench: 'list-bookings',
      case: `seed ${total} bookings: appends (${SEED_CONCURRENCY} writers)`,
      value: appendMs / 1000,
      unit: 's',
      note: `${round(events / (appendMs / 1000), 0)} events/s, ${events} events`,
    });
    rows.push({
      bench: 'list-bookings',
      case: 'seed: bookings projection catch-up',
      value: projectMs / 1000,
      unit: 's',
      note: `${round(events / (projectMs / 1000), 0)} events/s`,
    });
    figures.seed = {
      events,
      appendSec: round(appendMs / 1000, 2),
      projectionSec: round(projectMs / 1000, 2),
      appendEventsPerSec: round(events / (appendMs / 1000), 1),
      projectionEventsPerSec: round(events / (projectMs / 1000), 1),
    };

    // ── queries: over HTTP, against what `npm start` runs and against the floor running the same SQL
    const from = new Date(base.getTime() + Math.floor(spanDays / 4) * 86400_000).toISOString();
    const to = new Date(base.getTime() + (Math.floor(spanDays / 4) + 7) * 86400_000).toISOString();
    const headers = { authorization: `Bearer ${token}` };
    const rangePath = `/api/private/v1/bookings?from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}&limit=50`;
    bench.startProjectors();
    // orgWithToken returned once the credential was projected (catchUpCredentials): no retry needed.
    const first = await fetch(`${bench.baseUrl}${rangePath}`, { headers });
    const firstBody = await first.text();
    if (first.status !== 200) throw new Error(`GET /bookings answered ${first.status}: ${firstBody}`);
    const page = JSON.parse(firstBody) as { data: unknown[]; nextCursor: string | null };
    if (page.data.length !== 50 || !page.nextCursor)
      throw new Error(`GET /bookings returned ${page.data.length} bookings, nextCursor ${page.nextCursor}`);
    figures.responseBytes = Buffer.byteLength(firstBody);
    figures.bookingsInRange = Number(
      (
        await bench.services.pool.query<{ n: string }>(
          'select count(*) as n from bookings where org_id = $1 and window_start >= $2 and window_start < $3',
          [orgId, from, to],
        )
      ).rows[0]!.n,
    );
    const statement = listBookingsStatement(orgId, { from, to, limit: 50 });
    const listQuery = { sql: statement.sql, parameters: [...statement.parameters] };
    figures.floorQuery = listQuery.sql;

    const expect50 = async (url: string) => {
      const res = await fetch(url, { headers });
      const body = (await res.json()) as { data?: unknown[] };
      if (res.status !== 200 || (body.data?.length ?? 0) < 50) throw new Error(`GET ${url}: ${res.status}, ${body.data?.length} rows`);
    };
    const service = npmStartSubject(ctx.url);
    const floor = floorSubject(ctx.url, listQuery);
    const timing = { connections: CONNECTIONS, headers, warmupSec, durationSec, rounds: ctx.rounds, check: expect50 };
    const cases: { key: string; label: string; path: string }[] = [
      { key: 'canceled', label: 'GET /bookings 7-day range, status=canceled', path: `${rangePath}&status=canceled` },
      {
        key: 'cursor',
        label: 'GET /bookings 7-day range, page 2 (nextCursor)',
        path: `${rangePath}&cursor=${encodeURIComponent(page.nextCursor)}`,
      },
    ];
    // The same query without HTTP (sequential calls of the query function): where the time goes.
    const direct = new Samples();
    const iterations = ctx.quick ? 100 : 500;
    for (let i = 0; i < iterations; i++) {
      const t = performance.now();
      await listBookings(bench.services.pool, orgId, { from, to, limit: 50 });
      direct.push(since(t));
    }
    rows.push({
      bench: 'list-bookings',
      case: 'listBookings() query alone, sequential (no HTTP)',
      value: 1000 / direct.mean(),
      unit: 'calls/s',
      p50Ms: direct.percentile(50),
      p99Ms: direct.percentile(99),
    });
    figures.directQuery = {
      iterations,
      latencyMs: { p50: round(direct.percentile(50), 3), p99: round(direct.percentile(99), 3), mean: round(direct.mean(), 3) },
    };
    // Only the processes under test serve HTTP: close the in-process app first.
    await bench.close();
    closed = true;

    ctx.log(
      `list-bookings: 7-day range, limit 50 — \`npm start\` and the floor, ${ctx.rounds} rounds of ${durationSec} s at ${CONNECTIONS} connections`,
    );
    const [floorRuns, serviceRuns] = await loadInRounds(ctx, 'list-bookings', [floor, service], {
      ...timing,
      path: (subject) => (subject === floor ? '/bookings' : rangePath),
    });
    rows.push({
      ...subjectRow('list-bookings', serviceRuns!),
      case: `GET /bookings 7-day range, limit 50, ${CONNECTIONS} conns (\`npm start\`)`,
    });
    rows.push({ ...subjectRow('list-bookings', floorRuns!), case: `floor: fastify route running the same SQL, ${CONNECTIONS} conns` });
    const rps = (r: typeof floorRuns) => r!.runs.map((x) => x.rps);
    rows.push(
      ratioRow(
        'list-bookings',
        'ratio `npm start` / floor (same SQL)',
        rps(serviceRuns),
        rps(floorRuns),
        'per round, median; target ≥ 0.7×',
      ),
    );
    figures.range = subjectFigures(serviceRuns!);
    figures.floor = subjectFigures(floorRuns!);
    for (const c of cases) {
      ctx.log(`list-bookings: ${c.label} — ${ctx.rounds} rounds`);
      const [runs] = await loadInRounds(ctx, 'list-bookings', [service], { ...timing, path: c.path });
      rows.push({ ...subjectRow('list-bookings', runs!), case: `${c.label}, ${CONNECTIONS} conns` });
      figures[c.key] = subjectFigures(runs!);
    }
    const p99 = spreadOf(serviceRuns!.runs.map((r) => r.p99Ms)).median;
    const vsFloor = spreadOf(rps(serviceRuns).map((v, i) => v / rps(floorRuns)[i]!)).median;
    targets.push({
      figure: `GET /bookings at ${total / 1000} k bookings, ${CONNECTIONS} conns`,
      before: 'p99 39 ms',
      now: `p99 ${p99} ms, ${vsFloor.toFixed(2)}× the floor`,
      target: 'p99 ≤ 10 ms, ≥ 0.7× a fastify route doing the same SQL',
      met: p99 <= 10 && vsFloor >= 0.7,
    });
  } finally {
    if (!closed) await bench.close();
  }
  return { title: `List bookings at ${total / 1000} k bookings in one org`, rows, figures, targets };
};
