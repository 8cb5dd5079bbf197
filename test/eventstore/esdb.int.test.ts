// The EventStoreDB adapter against a real server: `docker compose up -d eventstore`, then
// EVENTSTORE_CONNECTION_STRING='kurrentdb://localhost:2113?tls=false' npx tap test/eventstore/esdb.int.test.ts
// Sized to finish well inside tap's 300 s per-file limit on 2 shared cores: the subscriber test follows
// 8 writers × 50 appends (400 appends of two round trips each, the tail read and the write), not 4000.
import { randomUUID } from 'node:crypto';
import t from 'tap';
import { testEnv } from '../../src/config.ts';
import { AppendTooLargeError } from '../../src/eventstore/esdb/mapping.ts';
import { EsdbEventStore } from '../../src/eventstore/esdb/store.ts';
import {
  IdempotencyKeyClaimedError,
  type Position,
  type SubscriptionBatch,
  WrongExpectedRevisionError,
} from '../../src/eventstore/port.ts';
import { comparePositions } from '../../src/eventstore/position.ts';
import { conformanceSuite, metadataFor, phoneEvent, readAllEvents, runTag } from './store.conformance.ts';

const connectionString = testEnv().eventStoreConnectionString;

if (!connectionString) {
  t.plan(0, 'EVENTSTORE_CONNECTION_STRING not set: start a server with docker compose up -d eventstore');
} else {
  const makeStore = async () => new EsdbEventStore({ connectionString });

  t.test('conformance', async (t) => {
    conformanceSuite(t, makeStore, { writers: 8, eventsPerWriter: 50 });
  });

  t.test('racing identical retries under one claim: one writes, the others are told duplicate by the stored hash', async (t) => {
    const store = await makeStore();
    t.teardown(() => store.close());
    const org = randomUUID();
    const stream = `org-${runTag()}-race`;
    const id = randomUUID();
    const claim = { key: `race-${runTag()}`, requestHash: 'same' };
    // Same ids, different content (each retry's own clock, as execute() sends them): distinct hashes.
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        store.append(
          stream,
          [
            {
              ...phoneEvent(org, 1, id),
              metadata: { ...metadataFor(org), occurredAt: new Date(Date.UTC(2030, 0, 1, 0, 0, i)).toISOString() },
            },
          ],
          {
            expectedRevision: 'no_stream',
            claim,
          },
        ),
      ),
    );
    t.equal((await store.readStream(stream)).length, 1, 'one event written');
    t.equal(results.filter((r) => !r.duplicate).length, 1, 'exactly one append reports it wrote');
    t.ok(results.every((r) => r.nextRevision === 0));
  });

  t.test('a claim whose events never landed is taken over by another request once old enough', async (t) => {
    const eager = new EsdbEventStore({ connectionString, claimTakeoverAfterMs: 0 });
    const patient = await makeStore();
    t.teardown(async () => {
      await eager.close();
      await patient.close();
    });
    const org = randomUUID();
    const stream = `org-${runTag()}-takeover`;
    const key = `takeover-${runTag()}`;
    // Claimed, then refused by the stream: the claim stays, the events never land.
    await t.rejects(
      eager.append(stream, [phoneEvent(org, 1)], { expectedRevision: 5, claim: { key, requestHash: 'first' } }),
      WrongExpectedRevisionError,
    );
    await t.rejects(
      patient.append(stream, [phoneEvent(org, 2)], { expectedRevision: 'no_stream', claim: { key, requestHash: 'second' } }),
      IdempotencyKeyClaimedError,
      'a young claim is still refused (its request may be appending)',
    );
    const taken = await eager.append(stream, [phoneEvent(org, 3)], {
      expectedRevision: 'no_stream',
      claim: { key, requestHash: 'second' },
    });
    t.equal(taken.duplicate, false, 'taken over and written');
    await t.rejects(
      eager.append(stream, [phoneEvent(org, 4)], { expectedRevision: 0, claim: { key, requestHash: 'third' } }),
      IdempotencyKeyClaimedError,
      'a claim whose events landed is never taken over',
    );
  });

  t.test("a batch over the server's maximum append size is refused as AppendTooLargeError, writing nothing", async (t) => {
    const store = await makeStore();
    t.teardown(() => store.close());
    const org = randomUUID();
    const stream = `org-${runTag()}-big`;
    // about 2.5 MB of events against the 1 MiB default
    const batch = Array.from({ length: 5000 }, (_, i) => phoneEvent(org, i));
    await t.rejects(store.append(stream, batch, { expectedRevision: 'no_stream' }), AppendTooLargeError);
    t.same(await store.readStream(stream), [], 'nothing written');
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
