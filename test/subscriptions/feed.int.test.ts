import { randomUUID } from 'node:crypto';
import t from 'tap';
import { createBooking } from '../../src/commands/bookings.ts';
import type { EventStore, RecordedEvent, SubscribeOptions } from '../../src/eventstore/port.ts';
import { readCheckpoint } from '../../src/subscriptions/checkpoints.ts';
import { runSubscriber } from '../../src/subscriptions/engine.ts';
import { SharedFeed } from '../../src/subscriptions/feed.ts';
import type { Subscriber, SubscriberDeps } from '../../src/subscriptions/subscriber.ts';
import { testApp } from '../support/app.ts';

const window = (i: number) => ({
  start: new Date(Date.UTC(2031, 0, 1, 10) + i * 3_600_000).toISOString(),
  end: new Date(Date.UTC(2031, 0, 1, 11) + i * 3_600_000).toISOString(),
});

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The store with its `subscribe` calls counted (each is one reader of the log). */
function countingStore(store: EventStore): { store: EventStore; subscriptions: () => number } {
  let subscriptions = 0;
  const counted = Object.create(store) as EventStore;
  Object.defineProperty(counted, 'subscribe', {
    value: (options?: SubscribeOptions) => {
      subscriptions++;
      return store.subscribe(options);
    },
  });
  return { store: counted, subscriptions: () => subscriptions };
}

t.test('subscribers of one process share one reader, each with its own filter and checkpoint', async (t) => {
  const ctx = await testApp(t);
  const orgId = await ctx.createOrg();
  const caller = { orgId, actor: { type: 'integration' as const, id: randomUUID(), label: 'x' }, correlationId: 'c' };
  const counted = countingStore(ctx.services.store);
  const deps: SubscriberDeps = { db: ctx.services.db, store: counted.store };
  const seen = { bookings: [] as string[], orgs: [] as string[] };
  const bookings: Subscriber = {
    name: 'test:feed-bookings',
    filter: { streamPrefixes: ['booking-'], eventTypes: ['BookingCreated'] },
    batchSize: 7,
    handle: async (_trx, events) => void seen.bookings.push(...events.map((e) => e.id)),
  };
  const orgs: Subscriber = {
    name: 'test:feed-orgs',
    filter: { streamPrefixes: ['org-'] },
    handle: async (_trx, events) => void seen.orgs.push(...events.map((e) => e.id)),
  };
  // Written first, so both catch up over the same log (live, each commit could be a batch of its own).
  for (let i = 0; i < 30; i++)
    await createBooking(ctx.services, caller, { customer: { name: `C${i}`, phone: '+15125550100' }, window: window(i) });
  const controller = new AbortController();
  const feed = new SharedFeed(deps, controller.signal);
  const running = [bookings, orgs].map((s) => runSubscriber(deps, s, controller.signal, feed));
  t.teardown(async () => {
    controller.abort();
    await Promise.all(running);
  });
  let state = '';
  await until('both checkpoints at the head', async () => {
    const [b, o] = await Promise.all([readCheckpoint(ctx.services.db, bookings.name), readCheckpoint(ctx.services.db, orgs.name)]);
    state = `bookings handled ${b.eventsHandled} (seen ${seen.bookings.length}), orgs ${o.eventsHandled}, reads ${counted.subscriptions()}`;
    return b.eventsHandled === 30 && o.eventsHandled >= 1;
  }).catch((error: unknown) => {
    throw new Error(`${(error as Error).message}: ${state}`);
  });
  controller.abort();
  await Promise.all(running);
  t.equal(seen.bookings.length, 30, 'every booking once');
  t.equal(new Set(seen.bookings).size, 30);
  t.ok(seen.orgs.length >= 1, 'the org subscriber got the org events');
  t.ok(counted.subscriptions() <= 2, `one reader for both (a second only when the later one joined): ${counted.subscriptions()}`);
});

t.test('a failing subscriber retries without holding up or skipping the others', async (t) => {
  const ctx = await testApp(t);
  const orgId = await ctx.createOrg();
  const caller = { orgId, actor: { type: 'integration' as const, id: randomUUID(), label: 'x' }, correlationId: 'c' };
  const deps: SubscriberDeps = { db: ctx.services.db, store: ctx.services.store };
  let failing = true;
  const healthy: string[] = [];
  const flaky: string[] = [];
  const filter = { streamPrefixes: ['booking-'], eventTypes: ['BookingCreated' as const] };
  const healthySubscriber: Subscriber = {
    name: 'test:feed-healthy',
    filter,
    handle: async (_trx, events) => void healthy.push(...events.map((e) => e.id)),
  };
  const flakySubscriber: Subscriber = {
    name: 'test:feed-flaky',
    filter,
    handle: async (_trx, events: readonly RecordedEvent[]) => {
      if (failing) throw new Error('flaky subscriber fails');
      flaky.push(...events.map((e) => e.id));
    },
  };
  const controller = new AbortController();
  const feed = new SharedFeed(deps, controller.signal);
  const running = [healthySubscriber, flakySubscriber].map((s) => runSubscriber(deps, s, controller.signal, feed));
  t.teardown(async () => {
    controller.abort();
    await Promise.all(running);
  });
  for (let i = 0; i < 10; i++)
    await createBooking(ctx.services, caller, { customer: { name: `C${i}`, phone: '+15125550100' }, window: window(i) });
  await until(
    'the healthy subscriber handled all',
    async () => (await readCheckpoint(ctx.services.db, healthySubscriber.name)).eventsHandled === 10,
  );
  t.equal((await readCheckpoint(ctx.services.db, flakySubscriber.name)).eventsHandled, 0, 'the failing one moved nothing');
  failing = false;
  for (let i = 10; i < 15; i++)
    await createBooking(ctx.services, caller, { customer: { name: `C${i}`, phone: '+15125550100' }, window: window(i) });
  await until(
    'the recovered subscriber caught up',
    async () => (await readCheckpoint(ctx.services.db, flakySubscriber.name)).eventsHandled === 15,
  );
  await until('the healthy one too', async () => (await readCheckpoint(ctx.services.db, healthySubscriber.name)).eventsHandled === 15);
  controller.abort();
  await Promise.all(running);
  t.equal(new Set(flaky).size, 15, 'the recovered subscriber handled every event once, none skipped');
  t.equal(flaky.length, 15);
  t.equal(healthy.length, 15, 'the healthy one handled each once, none again when the other re-read');
});

t.test('a slow subscriber falls behind, catches up alone and joins again, handling every event once', async (t) => {
  const ctx = await testApp(t);
  const orgId = await ctx.createOrg();
  const caller = { orgId, actor: { type: 'integration' as const, id: randomUUID(), label: 'x' }, correlationId: 'c' };
  const deps: SubscriberDeps = { db: ctx.services.db, store: ctx.services.store };
  const filter = { streamPrefixes: ['booking-'], eventTypes: ['BookingCreated' as const] };
  const fast: string[] = [];
  const slow: string[] = [];
  const fastSubscriber: Subscriber = {
    name: 'test:feed-fast',
    filter,
    handle: async (_trx, events) => void fast.push(...events.map((e) => e.id)),
  };
  const slowSubscriber: Subscriber = {
    name: 'test:feed-slow',
    filter,
    batchSize: 1,
    handle: async (_trx, events) => {
      await new Promise((r) => setTimeout(r, 150));
      slow.push(...events.map((e) => e.id));
    },
  };
  const controller = new AbortController();
  const feed = new SharedFeed(deps, controller.signal);
  const running = [fastSubscriber, slowSubscriber].map((s) => runSubscriber(deps, s, controller.signal, feed));
  t.teardown(async () => {
    controller.abort();
    await Promise.all(running);
  });
  for (let i = 0; i < 25; i++)
    await createBooking(ctx.services, caller, { customer: { name: `C${i}`, phone: '+15125550100' }, window: window(i) });
  await until('both handled every booking', async () => {
    const [f, s] = await Promise.all([
      readCheckpoint(ctx.services.db, fastSubscriber.name),
      readCheckpoint(ctx.services.db, slowSubscriber.name),
    ]);
    return f.eventsHandled === 25 && s.eventsHandled === 25;
  });
  controller.abort();
  await Promise.all(running);
  t.equal(fast.length, 25, 'the fast one handled each once');
  t.equal(new Set(slow).size, 25, 'the slow one handled every booking');
  t.equal(slow.length, 25, 'and none twice');
});
