// The EventStoreDB adapter against a real server: `docker compose up eventstore`, then
// EVENTSTORE_CONNECTION_STRING=esdb://localhost:2113?tls=false npx tap test/eventstore/esdb.int.test.ts
import { randomUUID } from 'node:crypto';
import t from 'tap';
import { testEnv } from '../../src/config.ts';
import { EsdbEventStore } from '../../src/eventstore/esdb/store.ts';
import type { Position, SubscriptionBatch } from '../../src/eventstore/port.ts';
import { comparePositions } from '../../src/eventstore/position.ts';
import { conformanceSuite, phoneEvent, readAllEvents, runTag } from './store.conformance.ts';

const connectionString = testEnv().eventStoreConnectionString;

if (!connectionString) {
  t.plan(0, 'EVENTSTORE_CONNECTION_STRING not set: start one with docker compose up eventstore');
} else {
  const makeStore = async () => new EsdbEventStore({ connectionString });

  t.test('conformance', async (t) => {
    conformanceSuite(t, makeStore, { writers: 20, eventsPerWriter: 200 });
  });

  t.test('append reports the $all position that readStream, readAll and headPosition report', async (t) => {
    const store = await makeStore();
    t.teardown(() => store.close());
    const org = randomUUID();
    const stream = `org-${runTag()}-pos`;
    const result = await store.append(stream, [phoneEvent(org, 1), phoneEvent(org, 2), phoneEvent(org, 3)], {
      expectedRevision: 'no_stream',
    });
    const [last] = await store.readStream(stream, { direction: 'backwards', maxCount: 1 });
    t.same(last?.position, result.position, 'readStream');
    const all = await readAllEvents(store, { streamPrefixes: [stream] });
    t.same(
      all.map((e) => e.revision),
      [0, 1, 2],
    );
    t.same(all.at(-1)?.position, result.position, 'readAll');
    t.ok(
      all.every((e, i) => i === 0 || comparePositions(all[i - 1]!.position, e.position) < 0),
      'a batch takes increasing positions',
    );
    const head = await store.headPosition();
    t.ok(head && comparePositions(head, result.position) >= 0);
  });

  t.test("a filtered subscription's checkpoint moves past events it filters out (checkpointReached)", async (t) => {
    const store = await makeStore();
    t.teardown(() => store.close());
    const org = randomUUID();
    const tag = runTag();
    const before = await store.headPosition();
    for (let i = 0; i < 10; i++) {
      await store.append(
        `org-${tag}-noise-${i}`,
        Array.from({ length: 10 }, (_, n) => phoneEvent(org, i * 10 + n)),
        { expectedRevision: 'no_stream' },
      );
    }
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), 20_000);
    const batches: SubscriptionBatch[] = [];
    for await (const batch of store.subscribe({
      from: before,
      filter: { streamPrefixes: [`lead-${tag}-none-`] },
      signal: controller.signal,
    })) {
      batches.push(batch);
      controller.abort();
    }
    clearTimeout(timer);
    t.ok(batches.length > 0, 'a checkpoint-only batch came');
    t.same(batches[0]?.events, [], 'with no events');
    t.ok(comparePositions(batches[0]?.checkpoint, before) > 0, 'past the starting position');
  });

  t.test('readAll pages resume exactly at their checkpoint', async (t) => {
    const store = await makeStore();
    t.teardown(() => store.close());
    const org = randomUUID();
    const prefix = `booking-${runTag()}-`;
    for (let i = 0; i < 12; i++) await store.append(`${prefix}${i % 4}`, [phoneEvent(org, i)], { expectedRevision: 'any' });
    const ids: string[] = [];
    let from: Position | null = null;
    for (;;) {
      const page = await store.readAll({ from, limit: 5, filter: { streamPrefixes: [prefix] } });
      ids.push(...page.events.map((e) => e.id));
      if (page.events.length < 5) break;
      from = page.checkpoint;
    }
    t.equal(ids.length, 12);
    t.equal(new Set(ids).size, 12, 'no event twice');
  });
}
