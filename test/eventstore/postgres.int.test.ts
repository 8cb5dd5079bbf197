import { randomUUID } from 'node:crypto';
import t from 'tap';
import type pg from 'pg';
import { PostgresEventStore } from '../../src/eventstore/postgres/store.ts';
import type { RecordedEvent } from '../../src/eventstore/port.ts';
import { testDatabase } from '../support/db.ts';
import { conformanceSuite, phoneEvent, readAllEvents, runTag } from './store.conformance.ts';

const database = await testDatabase(t);
const makeStore = async () => new PostgresEventStore({ pool: database.pool, url: database.url, pollIntervalMs: 100 });

t.test('conformance', async (t) => {
  conformanceSuite(t, makeStore, { writers: 20, eventsPerWriter: 200 });
});

t.test('a subscriber never skips an event whose transaction commits after later ones (the gap problem)', async (t) => {
  const store = await makeStore();
  t.teardown(() => store.close());
  const org = randomUUID();
  const prefix = `lead-${runTag()}-`;
  const controller = new AbortController();
  const seen: RecordedEvent[] = [];
  let expected = Infinity;
  const follow = (async () => {
    for await (const batch of store.subscribe({ filter: { streamPrefixes: [prefix] }, batchSize: 50, signal: controller.signal })) {
      seen.push(...batch.events);
      if (seen.length >= expected) controller.abort();
    }
  })();

  // Slow writers hold their append transaction open while fast writers commit later positions past them.
  const slowWriter = async (w: number) => {
    for (let i = 0; i < 10; i++) {
      const client = await database.pool.connect();
      try {
        await client.query('begin');
        const inTx = new PostgresEventStore({ pool: client as unknown as pg.Pool, url: database.url });
        await inTx.append(`${prefix}slow-${w}`, [phoneEvent(org, i)], { expectedRevision: 'any' });
        await new Promise((r) => setTimeout(r, 30 + Math.random() * 40));
        await client.query('commit');
      } finally {
        client.release();
      }
    }
  };
  const fastWriter = async (w: number) => {
    for (let i = 0; i < 200; i++) await store.append(`${prefix}fast-${w % 4}`, [phoneEvent(org, i)], { expectedRevision: 'any' });
  };
  await Promise.all([...Array.from({ length: 4 }, (_, w) => slowWriter(w)), ...Array.from({ length: 16 }, (_, w) => fastWriter(w))]);
  expected = 4 * 10 + 16 * 200;
  const timer = setTimeout(() => controller.abort(), 60_000);
  if (seen.length >= expected) controller.abort();
  await follow;
  clearTimeout(timer);
  const final = await readAllEvents(store, { streamPrefixes: [prefix] });
  t.equal(final.length, expected, 'all events stored');
  t.equal(new Set(seen.map((e) => e.id)).size, seen.length, 'no duplicates');
  t.equal(seen.length, expected, 'the subscriber saw every event, including the late commits');
  t.same(
    seen.map((e) => e.id),
    final.map((e) => e.id),
    'in the final order',
  );
});

t.test('a transaction left open does not hold readers back forever (idle_in_transaction_session_timeout)', async (t) => {
  const { rows } = await database.pool.query<{ setting: string }>(
    "select setting from pg_settings where name = 'idle_in_transaction_session_timeout'",
  );
  t.ok(Number(rows[0]!.setting) > 0, 'the pool sets a timeout');
});
