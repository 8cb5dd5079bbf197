import { randomUUID } from 'node:crypto';
import t from 'tap';
import { createBooking } from '../../src/commands/bookings.ts';
import { readCheckpoint } from '../../src/subscriptions/checkpoints.ts';
import { bookingsProjection } from '../../src/projections/read-models/bookings.ts';
import { projector } from '../../src/projections/projection.ts';
import { runSubscriber } from '../../src/subscriptions/engine.ts';
import { handleBatch, type Subscriber, type SubscriberDeps } from '../../src/subscriptions/subscriber.ts';
import { testApp } from '../support/app.ts';
import { waitForHead } from '../eventstore/store.conformance.ts';

t.test('three projector instances on one database apply every event exactly once', async (t) => {
  const ctx = await testApp(t);
  const orgId = await ctx.createOrg();
  const caller = { orgId, actor: { type: 'integration' as const, id: randomUUID(), label: 'x' }, correlationId: 'c' };
  const controller = new AbortController();
  const runners = [0, 1, 2].map(() => runSubscriber(ctx.services, projector(bookingsProjection), controller.signal));
  await Promise.all(
    Array.from({ length: 200 }, (_, i) =>
      createBooking(ctx.services, caller, {
        customer: { name: `C${i}`, phone: '+15125550100' },
        window: {
          start: new Date(Date.UTC(2031, 0, 1, 10) + i * 3_600_000).toISOString(),
          end: new Date(Date.UTC(2031, 0, 1, 11) + i * 3_600_000).toISOString(),
        },
      }),
    ),
  );
  for (let i = 0; i < 200; i++) {
    const { rows } = await ctx.database.pool.query<{ n: number }>('select count(*)::int as n from bookings');
    if (rows[0]!.n === 200) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  controller.abort();
  await Promise.all(runners);
  const checkpoint = await readCheckpoint(ctx.services.db, 'bookings');
  t.equal(checkpoint.eventsHandled, 200, 'each event handled once across instances');
  const { rows } = await ctx.database.pool.query<{ n: number }>('select count(*)::int as n from bookings');
  t.equal(rows[0]!.n, 200);
});

t.test('a batch already applied by another instance is skipped, not applied twice', async (t) => {
  const ctx = await testApp(t);
  const orgId = await ctx.createOrg();
  const caller = { orgId, actor: { type: 'integration' as const, id: randomUUID(), label: 'x' }, correlationId: 'c' };
  const { position } = await createBooking(ctx.services, caller, {
    customer: { name: 'C', phone: '+15125550100' },
    window: { start: '2031-01-01T10:00:00Z', end: '2031-01-01T11:00:00Z' },
  });
  await waitForHead(ctx.services.store, position!);
  const page = await ctx.services.store.readAll({ filter: bookingsProjection.filter });
  t.equal(await handleBatch(ctx.services, projector(bookingsProjection), page.events, page.checkpoint!), 1);
  t.equal(
    await handleBatch(ctx.services, projector(bookingsProjection), page.events, page.checkpoint!),
    0,
    'the second runner finds the checkpoint already there',
  );
  t.equal((await readCheckpoint(ctx.services.db, 'bookings')).eventsHandled, 1);
});

t.test('a subscriber that prepares outside the transaction handles only the events still past the checkpoint it locks', async (t) => {
  const ctx = await testApp(t);
  const orgId = await ctx.createOrg();
  const caller = { orgId, actor: { type: 'integration' as const, id: randomUUID(), label: 'x' }, correlationId: 'c' };
  const window = (h: number) => ({ start: `2031-01-0${h}T10:00:00Z`, end: `2031-01-0${h}T11:00:00Z` });
  await createBooking(ctx.services, caller, { customer: { name: 'A', phone: '+15125550100' }, window: window(1) });
  const { position } = await createBooking(ctx.services, caller, { customer: { name: 'B', phone: '+15125550100' }, window: window(2) });
  await waitForHead(ctx.services.store, position!);
  const page = await ctx.services.store.readAll({ filter: { streamPrefixes: ['booking-'], eventTypes: ['BookingCreated'] } });
  t.equal(page.events.length, 2);
  const [first, second] = page.events;
  const prepared: string[][] = [];
  const handled: string[][] = [];
  const subscriber: Subscriber<SubscriberDeps, number> = {
    name: 'test:prepare',
    filter: { streamPrefixes: ['booking-'] },
    async prepare(deps, events) {
      prepared.push(events.map((e) => e.id));
      // Another instance handles the first event meanwhile.
      if (prepared.length === 1) await handleBatch(deps, { name: 'test:prepare', filter: this.filter }, [first!], first!.position);
      return events.length;
    },
    async handle(_trx, events, preparedCount) {
      t.equal(preparedCount, 2, 'handle gets what prepare returned');
      handled.push(events.map((e) => e.id));
    },
  };
  t.equal(await handleBatch(ctx.services, subscriber, page.events, page.checkpoint!), 1);
  t.same(prepared, [[first!.id, second!.id]]);
  t.same(handled, [[second!.id]], 'the event the other instance handled is skipped');
  t.equal(await handleBatch(ctx.services, subscriber, page.events, page.checkpoint!), 0, 'a redelivered batch is not prepared again');
  t.same(prepared.length, 1);
  t.equal((await readCheckpoint(ctx.services.db, 'test:prepare')).eventsHandled, 2);
});
