// Projection rebuild throughput at 1,000,000 booking events, in a fresh database of its own
// (<bench database>_rebuild, dropped afterwards) so the event count is exact whatever ran before.
//
// Seeding bypasses the store for speed: each BookingCreated row is computed in JS exactly as `es_append`
// would store it (one event per stream `booking-<uuid>`, revision 0, metadata = the prepared metadata
// plus prevHash = 64 zeros, hash = chainHash(GENESIS, digest); `es_streams` at revision 0 with that
// hash) and written with multi-row INSERTs (unnest of arrays, 5,000 rows, two transactions in flight).
// Faithfulness is checked twice: every 1,000th event is also run through the store's own
// `prepareEvents` and must give the same digest, and after the load 10 random streams read back
// through the store must pass `verifyStreamChain` (what `audit verify` checks). The org is created
// through the store (one OrgCreated). Then `rebuildProjection(bookings, { batchSize: 5000 })` is timed,
// in rounds over the same events.
import { randomInt, randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import type pg from 'pg';
import { loadOrg } from '../src/commands/org-reads.ts';
import { createOrg } from '../src/commands/orgs.ts';
import { createDb } from '../src/db/kysely.ts';
import { bookingStream, decide } from '../src/domain/booking.ts';
import type { Org } from '../src/domain/org.ts';
import { CURRENT_VERSION, GENESIS_HASH } from '../src/domain/events/index.ts';
import { prepareEvents } from '../src/eventstore/append-input.ts';
import { chainHash, contentDigest } from '../src/eventstore/hash.ts';
import { PostgresEventStore } from '../src/eventstore/postgres/store.ts';
import { verifyStreamChain } from '../src/eventstore/verify-chain.ts';
import { bookingsProjection } from '../src/projections/read-models/bookings.ts';
import { rebuildProjection } from '../src/projections/rebuild.ts';
import { operator } from './app.ts';
import { type BenchContext, type Benchmark, type Row, type TargetRow, round, since, spreadOf } from './common.ts';
import { openScratchDatabase } from './setup.ts';

const SEED_BATCH = 5000;
/** Insert transactions in flight while the next batch is computed. */
const SEED_IN_FLIGHT = 2;
const REBUILD_BATCH = 5000;
/** Rebuild rounds stop (after the first) once another would pass this many seconds in all, to keep `npm run bench` within 15 minutes. */
const REBUILD_BUDGET_SEC = 150;
/** Every n-th seeded event is also prepared by the store's own code and compared. */
const CROSS_CHECK_EVERY = 1000;
const VERIFY_STREAMS = 10;
/** Bookings per day of the seeded span. */
const PER_DAY = 2000;

interface SeedBatch {
  readonly orgs: string[];
  readonly streams: string[];
  readonly ids: string[];
  readonly data: string[];
  readonly metadata: string[];
  readonly hashes: string[];
}

const INSERT_EVENTS = `
  insert into es_events (stream_id, stream_revision, event_id, event_type, schema_version, org_id, data, metadata, hash)
  select s, 0, e, 'BookingCreated', $6::int, o, d, m, h
    from unnest($1::text[], $2::uuid[], $3::jsonb[], $4::jsonb[], $5::text[], $7::uuid[]) as u(s, e, d, m, h, o)`;
const INSERT_STREAMS = `
  insert into es_streams (stream_id, revision, last_hash)
  select s, 0, h from unnest($1::text[], $2::text[]) as u(s, h)`;

export const rebuildBench: Benchmark = (ctx) => rebuildAt(ctx, ctx.quick ? 50_000 : 1_000_000);

/** The benchmark at `total` booking events. */
export async function rebuildAt(ctx: BenchContext, total: number): ReturnType<Benchmark> {
  const rows: Row[] = [];
  const targets: TargetRow[] = [];
  const figures: Record<string, unknown> = { bookingEvents: total, seedBatch: SEED_BATCH, rebuildBatch: REBUILD_BATCH };

  const scratch = await openScratchDatabase(ctx.url, 'rebuild');
  ctx.log(`rebuild: fresh database ${scratch.database}`);
  figures.database = scratch.database;
  const { db, pool } = createDb({ url: scratch.url, max: 4, applicationName: 'bench-rebuild' });
  const store = new PostgresEventStore({ pool, url: scratch.url });
  try {
    const seeded = await seedBookingEvents({ pool, store, log: ctx.log }, total);
    const orgId = seeded.orgId;
    rows.push(seeded.row);
    figures.seed = seeded.figures;

    // ── the rebuild, in rounds (each a full blue/green rebuild of the same events) while they fit the budget
    const perRound: number[] = [];
    const secondsPerRound: number[] = [];
    const budgetMs = ctx.quick ? Number.POSITIVE_INFINITY : REBUILD_BUDGET_SEC * 1000;
    const roundsStart = performance.now();
    for (let r = 0; r < ctx.rounds; r++) {
      if (r > 0 && since(roundsStart) * ((r + 1) / r) > budgetMs) {
        ctx.log(`rebuild: stopping after ${r} round(s): another would pass the ${REBUILD_BUDGET_SEC} s budget`);
        break;
      }
      ctx.loadBefore(`rebuild: round ${r + 1}/${ctx.rounds}`);
      ctx.log(`rebuild: rebuildProjection(bookings, { batchSize: ${REBUILD_BATCH} }) over ${total} events, round ${r + 1}/${ctx.rounds}`);
      let lastLogged = 0;
      const rebuildStart = performance.now();
      const result = await rebuildProjection({ db, pool, store }, bookingsProjection, {
        batchSize: REBUILD_BATCH,
        onProgress: (p) => {
          if (p.phase === 'building' && p.handled - lastLogged >= 200_000) {
            lastLogged = p.handled;
            ctx.log(`rebuild: ${p.handled}/${p.total ?? '?'} events (${round(p.handled / (since(rebuildStart) / 1000), 0)} events/s)`);
          }
        },
      });
      const rebuildMs = since(rebuildStart);
      const built = Number((await sql<{ n: string }>`select count(*) as n from bookings where org_id = ${orgId}`.execute(db)).rows[0]!.n);
      if (built !== total || result.events !== total)
        throw new Error(`rebuild handled ${result.events} events into ${built} bookings; expected ${total}`);
      perRound.push(total / (rebuildMs / 1000));
      secondsPerRound.push(rebuildMs / 1000);
    }
    const median = spreadOf(perRound).median;
    rows.push({
      bench: 'rebuild',
      case: `rebuild bookings projection, ${total} events (batch ${REBUILD_BATCH})`,
      value: median,
      unit: 'events/s',
      rounds: perRound,
      note: `${secondsPerRound.map((v) => round(v, 1)).join(', ')} s; blue/green incl. swap`,
    });
    figures.rebuild = { events: total, seconds: secondsPerRound.map((v) => round(v, 2)), eventsPerSec: perRound.map((v) => round(v, 1)) };
    targets.push({
      figure: `projection rebuild, ${total >= 1_000_000 ? `${total / 1_000_000} M` : `${total / 1000} k`} events`,
      before: '10.9 k events/s',
      now: `${round(median / 1000, 1)} k events/s (${round(spreadOf(secondsPerRound).median, 1)} s)`,
      target: '≥ 50 k events/s (1 M in < 20 s)',
      met: median >= 50_000,
    });
  } finally {
    await store.close();
    await db.destroy();
    await scratch.drop();
  }
  return { title: `Projection rebuild at ${total / 1000} k booking events`, rows, figures, targets };
}

/**
 * Seeds `total` BookingCreated events (`orgs` orgs, default one, created through the store; the events
 * spread over them in turn) into a freshly migrated database, as described at the top of this file;
 * returns the orgs (the first as `orgId`), a table row and the figures.
 */
export async function seedBookingEvents(
  deps: { pool: pg.Pool; store: PostgresEventStore; log: (message: string) => void },
  total: number,
  options: { orgs?: number; afterOrgs?: () => Promise<void> } = {},
): Promise<{ orgId: string; orgIds: string[]; row: Row; figures: Record<string, unknown> }> {
  const { pool, store, log } = deps;
  const orgIds = Array.from({ length: options.orgs ?? 1 }, () => randomUUID());
  const orgs: Org[] = [];
  for (const [n, id] of orgIds.entries()) {
    await createOrg({ store, clock: () => new Date() }, operator(id), {
      orgId: id,
      name: orgIds.length === 1 ? 'Bench Rebuild HVAC' : `Bench HVAC ${n}`,
      timezone: 'America/Chicago',
      phones: [],
    });
    orgs.push(await loadOrg({ store }, id));
  }
  const orgId = orgIds[0]!;
  await options.afterOrgs?.();

  // ── seed
  log(`rebuild: seeding ${total} BookingCreated events (computed rows, ${SEED_BATCH}-row INSERTs)`);
  const sampleAt = new Set<number>();
  while (sampleAt.size < VERIFY_STREAMS) sampleAt.add(randomInt(total));
  const sampleStreams: string[] = [];
  const actor = { type: 'integration' as const, id: randomUUID(), label: 'Bench rebuild integration' };
  const source = { actorType: actor.type, actorId: actor.id, label: actor.label };
  const base = new Date();
  base.setUTCDate(base.getUTCDate() + 1);
  base.setUTCHours(13, 0, 0, 0);
  const stepMs = Math.floor(86400_000 / PER_DAY);
  let crossChecked = 0;

  const makeBatch = (from: number, count: number): SeedBatch => {
    const batch: SeedBatch = { orgs: [], streams: [], ids: [], data: [], metadata: [], hashes: [] };
    for (let i = from; i < from + count; i++) {
      const org = orgs[i % orgs.length]!;
      const orgId = org.id;
      const bookingId = randomUUID();
      const streamId = bookingStream(bookingId);
      const id = randomUUID();
      const now = new Date().toISOString();
      const start = new Date(base.getTime() + i * stepMs);
      const [event] = decide(
        {
          type: 'CreateBooking',
          now,
          data: {
            bookingId,
            orgId,
            window: { start: start.toISOString(), end: new Date(start.getTime() + 2 * 3600_000).toISOString() },
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
      const correlationId = randomUUID();
      const appendMetadata = { orgId, actor, correlationId, causationId: correlationId, occurredAt: now };
      // What prepareEvents yields for this event (its zod parse changes nothing in data this shape).
      const metadata = { ...appendMetadata, schemaVersion: CURRENT_VERSION.BookingCreated };
      const digest = contentDigest({ streamId, id, type: event!.type, data: event!.data, metadata });
      if (i % CROSS_CHECK_EVERY === 0) {
        const [prepared] = prepareEvents(streamId, [{ id, type: event!.type, data: event!.data, metadata: appendMetadata }]);
        if (prepared!.digest !== digest)
          throw new Error(`seeded event ${i} differs from what prepareEvents makes of it (digest ${digest} vs ${prepared!.digest})`);
        crossChecked++;
      }
      if (sampleAt.has(i)) sampleStreams.push(streamId);
      batch.orgs.push(orgId);
      batch.streams.push(streamId);
      batch.ids.push(id);
      batch.data.push(JSON.stringify(event!.data));
      batch.metadata.push(JSON.stringify({ ...metadata, prevHash: GENESIS_HASH }));
      batch.hashes.push(chainHash(GENESIS_HASH, digest));
    }
    return batch;
  };

  const insertBatch = async (batch: SeedBatch) => {
    const client: pg.PoolClient = await pool.connect();
    try {
      await client.query('begin');
      await client.query(INSERT_STREAMS, [batch.streams, batch.hashes]);
      await client.query(INSERT_EVENTS, [
        batch.streams,
        batch.ids,
        batch.data,
        batch.metadata,
        batch.hashes,
        CURRENT_VERSION.BookingCreated,
        batch.orgs,
      ]);
      await client.query('commit');
    } catch (error) {
      await client.query('rollback').catch(() => {});
      throw error;
    } finally {
      client.release();
    }
  };

  const seedStart = performance.now();
  let computeMs = 0;
  const inFlight = new Set<Promise<void>>();
  let failure: Error | undefined;
  for (let from = 0; from < total; from += SEED_BATCH) {
    const t = performance.now();
    const batch = makeBatch(from, Math.min(SEED_BATCH, total - from));
    computeMs += since(t);
    if (failure) throw failure;
    while (inFlight.size >= SEED_IN_FLIGHT) await Promise.race(inFlight);
    const p: Promise<void> = insertBatch(batch).then(
      () => void inFlight.delete(p),
      (error: unknown) => {
        failure ??= error instanceof Error ? error : new Error(String(error));
        inFlight.delete(p);
      },
    );
    inFlight.add(p);
    const done = from + batch.streams.length;
    if (done % 100_000 === 0) log(`rebuild: ${done} events seeded (${round(done / (since(seedStart) / 1000), 0)} events/s)`);
  }
  await Promise.all(inFlight);
  if (failure) throw failure;
  const insertMs = since(seedStart);
  const analyzeStart = performance.now();
  await pool.query('vacuum analyze es_events');
  await pool.query('vacuum analyze es_streams');
  const analyzeMs = since(analyzeStart);
  const seedMs = since(seedStart);

  const { rows: counted } = await pool.query<{ n: string }>(`select count(*) as n from es_events where event_type = 'BookingCreated'`);
  if (Number(counted[0]!.n) !== total) throw new Error(`expected ${total} BookingCreated events, found ${counted[0]!.n}`);
  const { rows: size } = await pool.query<{ bytes: string }>(`select pg_total_relation_size('es_events') as bytes`);

  // ── faithfulness: random streams read back through the store must verify as audit verify does
  for (const streamId of sampleStreams) {
    const events = await store.readStream(streamId);
    const broken = verifyStreamChain(events);
    if (broken)
      throw new Error(`seeded stream ${streamId} fails chain verification: ${broken.reason} at revision ${broken.event.revision}`);
    if (events.length !== 1) throw new Error(`seeded stream ${streamId} has ${events.length} events`);
  }
  log(
    `rebuild: seeded in ${round(seedMs / 1000, 1)} s; ${crossChecked} events cross-checked against prepareEvents, ${sampleStreams.length} random streams pass verifyStreamChain`,
  );

  const row: Row = {
    bench: 'rebuild',
    case: `seed ${total} BookingCreated (computed rows, ${SEED_BATCH}-row INSERTs)`,
    value: seedMs / 1000,
    unit: 's',
    note: `${round(total / (seedMs / 1000), 0)} events/s incl. vacuum analyze; ${sampleStreams.length} random streams verify`,
  };
  return {
    orgId,
    orgIds,
    row,
    figures: {
      seconds: round(seedMs / 1000, 2),
      computeSec: round(computeMs / 1000, 2),
      insertSec: round(insertMs / 1000, 2),
      vacuumAnalyzeSec: round(analyzeMs / 1000, 2),
      eventsPerSec: round(total / (seedMs / 1000), 1),
      esEventsBytes: Number(size[0]!.bytes),
      crossCheckedWithPrepareEvents: crossChecked,
      streamsVerified: sampleStreams.length,
    },
  };
}
