// Scale round (issue 26, item 4): the create / list / webhook / rebuild figures again, on a database that
// already holds `--scale-events` (default 10,000,000; --quick 100,000) BookingCreated events spread over
// 1,000 orgs, to see whether costs stay flat as data grows.
//
// In a fresh database of its own (<bench database>_scale, dropped afterwards): the 1,000 orgs are created
// through the store and projected; the events are seeded as computed rows exactly as bench/rebuild.ts does
// (same faithfulness checks); the bookings read model is then built by `rebuildProjection` (timed: the
// rebuild figure at scale), and every other subscriber starts past the seeded events (none of them is
// theirs, except automation's, which is set aside as bench/backlog.ts does). Then it reports the disk
// bytes per event and per booking, the EXPLAIN (ANALYZE, BUFFERS) of the list query and of the
// org-filtered `readAll` for one of the orgs, and runs http-create, list-bookings and webhook unchanged on
// that database (their own org and data on top of the seeded ones).
import { createDb } from '../src/db/kysely.ts';
import { readAllStatement, PostgresEventStore } from '../src/eventstore/postgres/store.ts';
import { listBookingsStatement } from '../src/queries/bookings.ts';
import { bookingsProjection } from '../src/projections/read-models/bookings.ts';
import { projector } from '../src/projections/projection.ts';
import { PROJECTIONS } from '../src/projections/registry.ts';
import { rebuildProjection } from '../src/projections/rebuild.ts';
import { SUBSCRIBERS } from '../src/subscribers.ts';
import { lockCheckpoint, saveCheckpoint } from '../src/subscriptions/checkpoints.ts';
import { catchUp } from '../src/subscriptions/engine.ts';
import type { Benchmark, Row, TargetRow } from './common.ts';
import { round, since } from './common.ts';
import { httpCreateBench } from './http-create.ts';
import { listBookingsBench } from './list-bookings.ts';
import { seedBookingEvents } from './rebuild.ts';
import { openScratchDatabase } from './setup.ts';
import { webhookBench } from './webhook.ts';

const ORGS = 1000;
const REBUILD_BATCH = 5000;

const label = (n: number) => (n >= 1_000_000 ? `${round(n / 1_000_000, 1)} M` : `${round(n / 1000, 0)} k`);

export const scaleBench: Benchmark = async (ctx) => {
  const total = ctx.scaleEvents ?? (ctx.quick ? 100_000 : 10_000_000);
  const at = `at ${label(total)} events / ${ORGS} orgs`;
  const rows: Row[] = [];
  const targets: TargetRow[] = [];
  const figures: Record<string, unknown> = { events: total, orgs: ORGS };

  const scratch = await openScratchDatabase(ctx.url, 'scale', { jobQueue: true });
  ctx.log(`scale: fresh database ${scratch.database}; seeding ${total} events over ${ORGS} orgs`);
  const { db, pool } = createDb({ url: scratch.url, max: 4, applicationName: 'bench-scale' });
  const store = new PostgresEventStore({ pool, url: scratch.url });
  const deps = { db, pool, store, log: ctx.log };
  try {
    const seeded = await seedBookingEvents(deps, total, {
      orgs: ORGS,
      // The orgs' own events are projected before the seeded ones land behind them.
      afterOrgs: async () => {
        for (const p of PROJECTIONS) await catchUp({ db, store }, projector(p));
      },
    });
    rows.push({ ...seeded.row, bench: 'scale' });
    figures.seed = seeded.figures;

    // Only the bookings projection and automation have anything to do with BookingCreated; every other
    // subscriber starts past them, and automation's backlog is set aside (bench/backlog.ts).
    const head = await store.headPosition();
    await db.transaction().execute(async (trx) => {
      for (const { subscriber } of SUBSCRIBERS) {
        if (subscriber.name === bookingsProjection.name) continue;
        await lockCheckpoint(trx, subscriber.name);
        await saveCheckpoint(trx, subscriber.name, head, 0);
      }
    });

    ctx.loadBefore(`scale: rebuild over ${total} events`);
    ctx.log(`scale: rebuildProjection(bookings, { batchSize: ${REBUILD_BATCH} }) over ${total} events`);
    const rebuildStart = performance.now();
    const result = await rebuildProjection({ db, pool, store }, bookingsProjection, { batchSize: REBUILD_BATCH });
    const rebuildSec = since(rebuildStart) / 1000;
    const rate = result.events / rebuildSec;
    rows.push({
      bench: 'scale',
      case: `rebuild bookings projection ${at}`,
      value: rate,
      unit: 'events/s',
      note: `${round(rebuildSec, 1)} s`,
    });
    figures.rebuild = { events: result.events, seconds: round(rebuildSec, 2), eventsPerSec: round(rate, 1) };
    targets.push({
      figure: `rebuild ${at}`,
      before: '27.9 k ev/s (1 M)',
      now: `${round(rate / 1000, 1)} k events/s (${round(rebuildSec, 1)} s)`,
      target: '≥ 50 k ev/s; within 1.2× of the 1 M figure',
      met: rate >= 50_000,
    });
    await pool.query('vacuum analyze bookings');

    // ── disk per event and per booking
    const { rows: sizes } = await pool.query<{ events: string; streams: string; bookings: string; n_bookings: string }>(
      `select pg_total_relation_size('es_events') as events, pg_total_relation_size('es_streams') as streams,
              pg_total_relation_size('bookings') as bookings, (select count(*) from bookings) as n_bookings`,
    );
    const size = sizes[0]!;
    const events = Number((await pool.query<{ n: string }>('select count(*) as n from es_events')).rows[0]!.n);
    const perEvent = (Number(size.events) + Number(size.streams)) / events;
    const perBooking = Number(size.bookings) / Number(size.n_bookings);
    figures.disk = {
      esEventsBytes: Number(size.events),
      esStreamsBytes: Number(size.streams),
      bookingsBytes: Number(size.bookings),
      events,
      bookings: Number(size.n_bookings),
      bytesPerEvent: round(perEvent, 0),
      bytesPerBooking: round(perBooking, 0),
    };
    rows.push({
      bench: 'scale',
      case: 'disk per event (es_events + es_streams, with indexes)',
      value: perEvent,
      unit: 'B',
      note: `${round((Number(size.events) + Number(size.streams)) / 2 ** 30, 2)} GiB for ${events} events`,
    });
    rows.push({
      bench: 'scale',
      case: 'disk per booking (bookings read model, with indexes)',
      value: perBooking,
      unit: 'B',
      note: `${round(Number(size.bookings) / 2 ** 30, 2)} GiB for ${size.n_bookings} bookings`,
    });

    // ── the plans of the list query and the org-filtered read, for one seeded org
    const orgId = seeded.orgIds[Math.floor(seeded.orgIds.length / 2)]!;
    const from = new Date(Date.now() + 86400_000);
    const list = listBookingsStatement(orgId, {
      from: from.toISOString(),
      to: new Date(from.getTime() + 7 * 86400_000).toISOString(),
      limit: 50,
    });
    const explain = async (text: string, values: readonly unknown[]) =>
      (await pool.query<{ 'QUERY PLAN': string }>(`explain (analyze, buffers) ${text}`, [...values])).rows
        .map((r) => r['QUERY PLAN'])
        .join('\n');
    const listPlan = await explain(list.sql, list.parameters);
    const read = readAllStatement({ filter: { orgId }, limit: 500 });
    const readPlan = await explain(read.text, read.values);
    figures.explain = { listBookings: listPlan, orgFilteredReadAll: readPlan };
    ctx.log(`scale: EXPLAIN list bookings (org ${orgId}, 7 days, limit 50):\n${listPlan}`);
    ctx.log(`scale: EXPLAIN readAll filtered by org (limit 500):\n${readPlan}`);
  } finally {
    await store.close();
    await db.destroy();
  }

  // ── the same figures on the grown database (each bench adds its own org and data on top)
  try {
    for (const [name, bench] of [
      ['http-create', httpCreateBench],
      ['list-bookings', listBookingsBench],
      ['webhook', webhookBench],
    ] as const) {
      ctx.log(`scale: ${name} ${at}`);
      const section = await bench({ ...ctx, url: scratch.url, log: (m) => ctx.log(`scale ${m}`) });
      rows.push(...section.rows.map((r) => ({ ...r, bench: `scale ${r.bench}`, case: `${r.case} (${at})` })));
      targets.push(
        ...(section.targets ?? []).map((t) => ({
          ...t,
          figure: `${t.figure} ${at}`,
          before: '—',
          target: `${t.target}; within 1.2× of its 100 k figure`,
        })),
      );
      figures[name] = section.figures;
    }
  } finally {
    await scratch.drop();
  }
  return { title: `Scale round: ${label(total)} events over ${ORGS} orgs`, rows, figures, targets };
};
