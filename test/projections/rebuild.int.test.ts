import { randomUUID } from 'node:crypto';
import t from 'tap';
import { changeBooking, createBooking } from '../../src/commands/bookings.ts';
import { readCheckpoint } from '../../src/subscriptions/checkpoints.ts';
import { rebuildProjection } from '../../src/projections/rebuild.ts';
import { bookingsProjection } from '../../src/projections/read-models/bookings.ts';
import { PROJECTIONS } from '../../src/projections/registry.ts';
import { verifyProjection } from '../../src/projections/verify.ts';
import { testApp } from '../support/app.ts';

const ctx = await testApp(t);
const { services } = ctx;
const orgId = await ctx.createOrg();
const caller = { orgId, actor: { type: 'integration' as const, id: randomUUID(), label: 'seed' }, correlationId: 'seed' };
const ids: string[] = [];
for (let i = 0; i < 120; i++) {
  const start = new Date(Date.UTC(2030, 0, 1 + (i % 60), 14));
  const { booking } = await createBooking(services, caller, {
    customer: { name: `Customer ${i}`, phone: `+1512555${String(1000 + i)}` },
    window: { start: start.toISOString(), end: new Date(start.getTime() + 7_200_000).toISOString() },
  });
  ids.push(booking.id);
}
for (let i = 0; i < 30; i++) await changeBooking(services, caller, ids[i]!, { kind: 'cancel', reason: 'seeded' });
for (let i = 30; i < 50; i++) {
  await changeBooking(services, caller, ids[i]!, {
    kind: 'reschedule',
    window: { start: '2030-03-01T14:00:00.000Z', end: '2030-03-01T16:00:00.000Z' },
  });
}
await ctx.catchUpAll();

/** A rebuild in batches of 20, aborted (as by Ctrl-C) once three batches are in. */
function rebuildInterruptedAfterThreeBatches() {
  const controller = new AbortController();
  let batches = 0;
  return rebuildProjection(services, bookingsProjection, {
    batchSize: 20,
    signal: controller.signal,
    onProgress: (p) => {
      if (p.phase === 'building' && ++batches === 3) controller.abort();
    },
  });
}

const snapshot = async () =>
  (await ctx.database.db.selectFrom('bookings').selectAll().orderBy('id').execute()).map((r) => JSON.stringify(r));

t.test('verify passes on a healthy read model', async (t) => {
  for (const projection of PROJECTIONS) {
    const result = await verifyProjection(services, projection);
    t.ok(result.ok, `${projection.name} matches a clean rebuild`);
  }
  const result = await verifyProjection(services, bookingsProjection);
  t.same(
    result.tables.map((x) => [x.table, x.rows]),
    [['bookings', 120]],
  );
});

t.test('verify reports an altered, a missing and an extra row', async (t) => {
  const before = await snapshot();
  await ctx.database.pool.query("update bookings set status = 'canceled' where id = $1", [ids[100]]);
  await ctx.database.pool.query('delete from bookings where id = $1', [ids[101]]);
  await ctx.database.pool.query(
    "insert into bookings (id, org_id, status, window_start, window_end, customer_phone, state, version, updated_at) values ($1, $2, 'scheduled', now(), now(), '+15125550000', '{}', 1, now())",
    [randomUUID(), orgId],
  );
  const result = await verifyProjection(services, bookingsProjection);
  t.notOk(result.ok);
  t.match(result.tables[0], { table: 'bookings', missing: 1, extra: 1, different: 1 });
  t.ok(
    result.tables[0]!.sample.some((s) => s.includes(ids[100]!)),
    'names the altered row',
  );

  await rebuildProjection(services, bookingsProjection);
  t.same(await snapshot(), before, 'a rebuild restores the model');
  t.ok((await verifyProjection(services, bookingsProjection)).ok);
});

t.test('a rebuild interrupted mid-way leaves the live model untouched and the next run resumes', async (t) => {
  const before = await snapshot();
  const liveCheckpoint = await readCheckpoint(services.db, 'bookings');
  await t.rejects(rebuildInterruptedAfterThreeBatches(), /interrupted/);
  t.same(await snapshot(), before, 'live tables untouched');
  t.same(await readCheckpoint(services.db, 'bookings'), liveCheckpoint, 'live checkpoint untouched');
  t.ok((await readCheckpoint(services.db, 'rebuild:bookings')).position, 'the rebuild kept its progress');

  const result = await rebuildProjection(services, bookingsProjection, { batchSize: 20 });
  t.equal(result.resumed, true);
  t.same(await snapshot(), before, 'identical to a clean build');
  const { rows } = await ctx.database.pool.query("select count(*)::int as n from projection_checkpoints where name like 'rebuild:%'");
  t.equal(rows[0].n, 0, 'no rebuild state left');
  const { rows: schemas } = await ctx.database.pool.query(
    "select nspname from pg_namespace where nspname like 'rebuild_%' or nspname like 'verify_%'",
  );
  t.same(schemas, [], 'no scratch schema left');
});

t.test('a rebuild whose scratch tables a server crash emptied starts over instead of resuming', async (t) => {
  const before = await snapshot();
  await t.rejects(rebuildInterruptedAfterThreeBatches(), /interrupted/);
  t.ok((await readCheckpoint(services.db, 'rebuild:bookings')).position, 'the rebuild kept its progress');
  const { rows: persistence } = await ctx.database.pool.query(
    "select relname, relpersistence from pg_class where relnamespace = 'rebuild_bookings'::regnamespace and relkind = 'r' order by relname",
  );
  t.same(
    persistence.map((r) => [r.relname, r.relpersistence]),
    [
      ['_progress', 'p'],
      ['bookings', 'p'],
    ],
    'the scratch table and its progress row are logged, so a crash keeps them',
  );
  // What crash recovery does to the UNLOGGED scratch tables an earlier version made: they come back empty,
  // while the checkpoint row (logged) stays.
  await ctx.database.pool.query('alter table rebuild_bookings.bookings set unlogged');
  await ctx.database.pool.query('alter table rebuild_bookings._progress set unlogged');
  await ctx.database.pool.query('truncate rebuild_bookings.bookings, rebuild_bookings._progress');

  const result = await rebuildProjection(services, bookingsProjection, { batchSize: 20 });
  t.equal(result.resumed, false, 'started over');
  const { rows: events } = await ctx.database.pool.query("select count(*)::int as n from es_events where stream_id like 'booking-%'");
  t.equal(result.events, events[0].n, 'every event replayed once');
  t.same(await snapshot(), before, 'identical to a clean build');
});

t.test('events appended after a rebuild are projected by the live projector as usual', async (t) => {
  await rebuildProjection(services, bookingsProjection);
  const { booking } = await createBooking(services, caller, {
    customer: { name: 'After rebuild', phone: '+15125559999' },
    window: { start: '2030-05-01T14:00:00.000Z', end: '2030-05-01T15:00:00.000Z' },
  });
  await ctx.catchUpAll();
  const row = await ctx.database.db.selectFrom('bookings').select('id').where('id', '=', booking.id).executeTakeFirst();
  t.ok(row, 'the new booking is in the swapped-in table');
  t.ok((await verifyProjection(services, bookingsProjection)).ok);
});
