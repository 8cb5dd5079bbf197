import { randomUUID } from 'node:crypto';
import t from 'tap';
import { createBooking } from '../../src/commands/bookings.ts';
import type { EventStore, Position } from '../../src/eventstore/port.ts';
import { bookingsProjection } from '../../src/projections/read-models/bookings.ts';
import { projector } from '../../src/projections/projection.ts';
import { catchUp, runSubscriber, waitForCheckpoints } from '../../src/subscriptions/engine.ts';
import { verifyProjection } from '../../src/projections/verify.ts';
import { testApp } from '../support/app.ts';

/**
 * `projections verify` beside a live projector that keeps projecting new bookings. Every time verify
 * reads the store (its batches, and its catch-up to the live checkpoint), a new booking is written and
 * must reach the live read model while verify is at that point: a verify that held the checkpoint row
 * or a transaction id over its work would stall the projector there.
 */
const ctx = await testApp(t);
const { services } = ctx;
const orgId = await ctx.createOrg();
const caller = { orgId, actor: { type: 'integration' as const, id: randomUUID(), label: 'seed' }, correlationId: 'seed' };
let n = 0;
const book = () => {
  const i = n++;
  const start = new Date(Date.UTC(2030, 0, 1 + (i % 60), 14));
  return createBooking(services, caller, {
    customer: { name: `Customer ${i}`, phone: `+1512${String(5_000_000 + i)}` },
    window: { start: start.toISOString(), end: new Date(start.getTime() + 7_200_000).toISOString() },
  });
};
const SEED = 1500;
await Promise.all(
  Array.from({ length: 6 }, async () => {
    while (n < SEED) await book();
  }),
);
await catchUp(services, projector(bookingsProjection));

const controller = new AbortController();
const live = runSubscriber(services, projector(bookingsProjection), controller.signal);
t.teardown(async () => {
  controller.abort();
  await live;
});

const projectedWithin = async (position: Position | null) =>
  position === null || waitForCheckpoints(services.db, ['bookings'], position, 15_000);

t.test('the live projector keeps projecting new events while verify builds and compares a large model', async (t) => {
  const stalls: string[] = [];
  let reads = 0;
  // The real store, observed: before each read verify makes, a booking is written and must be projected.
  const observed: EventStore = {
    kind: services.store.kind,
    append: (...args) => services.store.append(...args),
    readStream: (...args) => services.store.readStream(...args),
    subscribe: (options) => services.store.subscribe(options),
    headPosition: () => services.store.headPosition(),
    newestPosition: () => services.store.newestPosition(),
    close: async () => {},
    async readAll(options) {
      reads++;
      const { position } = await book();
      if (!(await projectedWithin(position))) stalls.push(`read ${reads}: a booking written then was not projected within 15 s`);
      return services.store.readAll(options);
    },
  };
  let verifying = true;
  let projectedMeanwhile = 0;
  const writer = (async () => {
    while (verifying) {
      const { position } = await book();
      if (await projectedWithin(position)) {
        if (verifying) projectedMeanwhile++;
      } else stalls.push('a booking written during verify was not projected within 15 s');
    }
  })();
  const result = await verifyProjection({ db: services.db, store: observed }, bookingsProjection, { batchSize: 100 });
  verifying = false;
  await writer;
  t.same(stalls, [], 'the projector never waited for verify');
  t.ok(reads >= SEED / 100, `verify read in ${reads} batches`);
  t.ok(projectedMeanwhile > 0, `${projectedMeanwhile} bookings were projected while verify ran`);
  t.ok(result.ok, 'the live model, moving all along, matches the copy built to the checkpoint of its snapshot');
  t.ok(result.tables[0]!.rows >= SEED, `compared ${result.tables[0]!.rows} rows`);
});

t.test('verify still finds a damaged row while the projector runs', async (t) => {
  const victim = await services.db.selectFrom('bookings').select('id').limit(1).executeTakeFirstOrThrow();
  await ctx.database.pool.query("update bookings set customer_phone = '+15125550000' where id = $1", [victim.id]);
  const result = await verifyProjection(services, bookingsProjection);
  t.notOk(result.ok);
  t.match(result.tables[0], { table: 'bookings', different: 1, missing: 0, extra: 0 });
  t.ok(result.tables[0]!.sample.some((s) => s.includes(victim.id)));
});
