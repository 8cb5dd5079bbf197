// Group commit on PostgreSQL: appends submitted together share one transaction, and each keeps its own
// expected-revision check, idempotency claim and answer.
import { randomUUID } from 'node:crypto';
import t from 'tap';
import { IdempotencyKeyClaimedError, WrongExpectedRevisionError } from '../../src/eventstore/port.ts';
import { PostgresEventStore } from '../../src/eventstore/postgres/store.ts';
import { testDatabase } from '../support/db.ts';
import { phoneEvent, runTag } from './store.conformance.ts';

const database = await testDatabase(t);
const store = new PostgresEventStore({ pool: database.pool, url: database.url, pollIntervalMs: 100 });
t.teardown(() => store.close());
const org = randomUUID();

async function transactionsOf(streams: string[]): Promise<number> {
  const { rows } = await database.pool.query<{ n: number }>(
    'select count(distinct transaction_id)::int as n from es_events where stream_id = any($1)',
    [streams],
  );
  return rows[0]!.n;
}

t.test('appends submitted at once commit in one transaction, in one chain per stream', async (t) => {
  const streams = Array.from({ length: 10 }, (_, i) => `org-${runTag()}-${i}`);
  const results = await Promise.all(
    streams.map((s, i) => store.append(s, [phoneEvent(org, i), phoneEvent(org, i + 100)], { expectedRevision: 'no_stream' })),
  );
  t.same(
    results.map((r) => r.nextRevision),
    streams.map(() => 1),
  );
  t.equal(await transactionsOf(streams), 1, 'one transaction for all ten');
  for (const s of streams) {
    const events = await store.readStream(s);
    t.same(
      events.map((e) => e.revision),
      [0, 1],
    );
    t.equal(events[1]!.metadata.prevHash, events[0]!.hash, 'the chain links within the stream');
  }
});

t.test('a conflicting append in a batch fails alone; the others commit', async (t) => {
  const taken = `org-${runTag()}-taken`;
  await store.append(taken, [phoneEvent(org, 1)], { expectedRevision: 'no_stream' });
  const fresh = Array.from({ length: 5 }, (_, i) => `org-${runTag()}-fresh-${i}`);
  const outcomes = await Promise.allSettled([
    ...fresh.map((s, i) => store.append(s, [phoneEvent(org, i)], { expectedRevision: 'no_stream' })),
    store.append(taken, [phoneEvent(org, 2)], { expectedRevision: 'no_stream' }),
    store.append(taken, [phoneEvent(org, 3)], { expectedRevision: 7 }),
  ]);
  t.same(
    outcomes.slice(0, 5).map((o) => o.status),
    Array(5).fill('fulfilled'),
    'the fresh streams are written',
  );
  for (const o of outcomes.slice(5)) {
    t.equal(o.status, 'rejected');
    t.type((o as PromiseRejectedResult).reason, WrongExpectedRevisionError);
    t.equal(((o as PromiseRejectedResult).reason as WrongExpectedRevisionError).actual, 0, 'with the actual revision');
  }
  t.equal((await store.readStream(taken)).length, 1, 'nothing of the refused appends was written');
  t.equal(await transactionsOf(fresh), 1);
});

t.test('two appends to one stream in one batch apply in submission order', async (t) => {
  const stream = `org-${runTag()}-twice`;
  const [first, second, stale] = await Promise.allSettled([
    store.append(stream, [phoneEvent(org, 1)], { expectedRevision: 'no_stream' }),
    store.append(stream, [phoneEvent(org, 2)], { expectedRevision: 0 }),
    store.append(stream, [phoneEvent(org, 3)], { expectedRevision: 0 }),
  ]);
  t.match(first, { status: 'fulfilled', value: { nextRevision: 0 } });
  t.match(second, { status: 'fulfilled', value: { nextRevision: 1 } });
  t.equal(stale.status, 'rejected');
  t.same(
    (await store.readStream(stream)).map((e) => e.data),
    [phoneEvent(org, 1).data, phoneEvent(org, 2).data],
  );
});

t.test('in a batch, a repeated append is a duplicate and a key claimed for another request is refused alone', async (t) => {
  const stream = `org-${runTag()}-keyed`;
  const event = phoneEvent(org, 1);
  const claim = { key: `key-${randomUUID()}`, requestHash: 'a'.repeat(64) };
  const [first, repeat, other, bystander] = await Promise.allSettled([
    store.append(stream, [event], { expectedRevision: 'no_stream', claim }),
    store.append(stream, [event], { expectedRevision: 'no_stream', claim }),
    store.append(`${stream}-other`, [phoneEvent(org, 2)], {
      expectedRevision: 'no_stream',
      claim: { ...claim, requestHash: 'b'.repeat(64) },
    }),
    store.append(`${stream}-bystander`, [phoneEvent(org, 3)], { expectedRevision: 'no_stream' }),
  ]);
  t.match(first, { status: 'fulfilled', value: { duplicate: false } });
  t.match(repeat, { status: 'fulfilled', value: { duplicate: true } });
  t.equal(other.status, 'rejected');
  t.type((other as PromiseRejectedResult).reason, IdempotencyKeyClaimedError);
  t.match(bystander, { status: 'fulfilled' });
});

t.test('an append the batch cannot take (invalid for the database) fails alone after the batch is retried one by one', async (t) => {
  const good = `org-${runTag()}-good`;
  const results = await Promise.allSettled([
    store.append(good, [phoneEvent(org, 1)], { expectedRevision: 'no_stream' }),
    // A stream id PostgreSQL cannot store in text: the whole statement fails, then each append goes alone.
    store.append(`org-${runTag()}-\u0000`, [phoneEvent(org, 2)], { expectedRevision: 'no_stream' }),
  ]);
  t.equal(results[0].status, 'fulfilled', results[0].status === 'rejected' ? String(results[0].reason) : '');
  t.equal(results[1].status, 'rejected');
  t.equal((await store.readStream(good)).length, 1);
});
