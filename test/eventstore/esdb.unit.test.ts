// The EventStoreDB adapter's pure parts: no server needed.
import { randomUUID } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { WrongExpectedVersionError } from '@kurrent/kurrentdb-client';
import t from 'tap';
import { GENESIS_HASH } from '../../src/domain/events/index.ts';
import { prepareEvents } from '../../src/eventstore/append-input.ts';
import { BatchBuilder } from '../../src/eventstore/esdb/batcher.ts';
import { SubscriptionFeed, type FeedItem } from '../../src/eventstore/esdb/feed.ts';
import {
  actualRevision,
  appendRetryDelayMs,
  appendRevisionFor,
  chainEvents,
  decideAppend,
  type EsdbRecord,
  claimEvent,
  claimMatches,
  claimStreamName,
  exactMatchRegex,
  fromEsdbPosition,
  isSystemEvent,
  normaliseConnectionString,
  planStreamRead,
  resubscribeDelayMs,
  satisfiesExpected,
  serverFilter,
  splitStoredMetadata,
  toEsdbExpectedRevision,
  toEventData,
  toReadPosition,
  toRecordedEvent,
  toWrongExpectedRevision,
  UNKNOWN_POSITION,
} from '../../src/eventstore/esdb/mapping.ts';
import { matchesFilter } from '../../src/eventstore/filter.ts';
import { InvalidEventError, WrongExpectedRevisionError } from '../../src/eventstore/port.ts';
import { verifyStreamChain } from '../../src/eventstore/verify-chain.ts';
import { phoneEvent } from './store.conformance.ts';

const pos = (n: number) => ({ commit: BigInt(n), prepare: BigInt(n) });

/** Stored records as EventStoreDB would hand them back: JSON round-tripped, with revisions and positions. */
function storedRecords(streamId: string, orgId: string, count: number, firstRevision = 0, prevHash = GENESIS_HASH): EsdbRecord[] {
  const prepared = prepareEvents(
    streamId,
    Array.from({ length: count }, (_, i) => phoneEvent(orgId, firstRevision + i)),
  );
  return chainEvents(prepared, prevHash).map((event, i) => ({
    streamId,
    id: event.id,
    revision: BigInt(firstRevision + i),
    type: event.type,
    data: JSON.parse(JSON.stringify(event.data)),
    metadata: JSON.parse(JSON.stringify(event.metadata)),
    created: new Date('2026-01-01T00:00:00Z'),
    position: pos(1000 + (firstRevision + i) * 10),
  }));
}

t.test('connection strings in the old esdb spelling are rewritten to kurrentdb (the client warns on esdb://)', async (t) => {
  t.equal(normaliseConnectionString('esdb://localhost:2113?tls=false'), 'kurrentdb://localhost:2113?tls=false');
  t.equal(normaliseConnectionString('esdb+discover://x'), 'kurrentdb+discover://x');
  t.equal(normaliseConnectionString('kurrentdb://localhost:2113?tls=false'), 'kurrentdb://localhost:2113?tls=false');
  t.equal(normaliseConnectionString('kdb+discover://a:2113,b:2113'), 'kdb+discover://a:2113,b:2113');
});

t.test('positions: the server\'s "none" sentinels are not positions; null reads from the start', async (t) => {
  t.same(fromEsdbPosition({ commit: 5n, prepare: 3n }), { commit: 5n, prepare: 3n });
  t.equal(fromEsdbPosition(undefined), undefined);
  t.equal(fromEsdbPosition({ commit: 2n ** 64n - 1n, prepare: 2n ** 64n - 1n }), undefined, 'ulong max (stream reads before 22.6)');
  t.equal(fromEsdbPosition({ commit: -1n, prepare: -1n }), undefined);
  t.equal(toReadPosition(null), 'start');
  t.equal(toReadPosition(undefined), 'start');
  t.same(toReadPosition({ commit: 7n, prepare: 6n }), { commit: 7n, prepare: 6n });
});

t.test('expected revisions map to the client constants and BigInt', async (t) => {
  t.equal(toEsdbExpectedRevision('no_stream'), 'no_stream');
  t.equal(toEsdbExpectedRevision('stream_exists'), 'stream_exists');
  t.equal(toEsdbExpectedRevision('any'), 'any');
  t.equal(toEsdbExpectedRevision(0), 0n);
  t.equal(toEsdbExpectedRevision(41), 41n);
  t.throws(() => toEsdbExpectedRevision(-1), RangeError);
  t.throws(() => toEsdbExpectedRevision(1.5), RangeError);
});

t.test('any and stream_exists append at the exact tail just read; no_stream and exact go as given', async (t) => {
  t.equal(appendRevisionFor('any', -1), 'no_stream');
  t.equal(appendRevisionFor('any', 4), 4n);
  t.equal(appendRevisionFor('stream_exists', 4), 4n);
  t.equal(appendRevisionFor('no_stream', -1), 'no_stream');
  t.equal(appendRevisionFor(3, 3), 3n);
});

t.test('expectations against a stream state', async (t) => {
  t.ok(satisfiesExpected('any', -1));
  t.ok(satisfiesExpected('any', 9));
  t.ok(satisfiesExpected('no_stream', -1));
  t.notOk(satisfiesExpected('no_stream', 0));
  t.notOk(satisfiesExpected('stream_exists', -1));
  t.ok(satisfiesExpected('stream_exists', 0));
  t.ok(satisfiesExpected(2, 2));
  t.notOk(satisfiesExpected(2, 3));
  t.notOk(satisfiesExpected(0, -1));
});

t.test("the client's WrongExpectedVersionError becomes the port's error with a numeric actual revision", async (t) => {
  t.equal(actualRevision('no_stream'), -1);
  t.equal(actualRevision(7n), 7);
  t.equal(actualRevision(-1n), -1);
  const noStream = toWrongExpectedRevision(
    new WrongExpectedVersionError(undefined, { streamName: 'org-x', expected: 0n, current: 'no_stream' }),
    'org-x',
    0,
  );
  t.type(noStream, WrongExpectedRevisionError);
  t.equal(noStream.streamId, 'org-x');
  t.equal(noStream.expected, 0);
  t.equal(noStream.actual, -1);
  const ahead = toWrongExpectedRevision(
    new WrongExpectedVersionError(undefined, { streamName: 'org-x', expected: 'no_stream', current: 3n }),
    'org-x',
    'no_stream',
  );
  t.equal(ahead.actual, 3);
  t.equal(ahead.expected, 'no_stream');
});

t.test('append decisions follow es_append: duplicate, partial match, unmet expectation, write', async (t) => {
  const [a, b, c] = [randomUUID(), randomUUID(), randomUUID()];
  const two = { revision: 1, lastHash: 'h1', match: { revision: 0, ids: [a, b], lastPosition: pos(20) } };
  t.same(
    decideAppend('no_stream', two, [a, b]),
    { kind: 'duplicate', nextRevision: 1, position: pos(20) },
    'same ids, symbolic expectation',
  );
  t.same(
    decideAppend('any', two, [a.toUpperCase(), b]),
    { kind: 'duplicate', nextRevision: 1, position: pos(20) },
    'ids compare case-insensitively',
  );
  t.same(decideAppend(0, two, [a, b]), { kind: 'conflict', actual: 1 }, 'exact 0: the batch sits at 0, not right after 0');
  t.same(decideAppend('no_stream', two, [a, c]), { kind: 'conflict', actual: 1 }, 'a partial match conflicts');
  t.same(
    decideAppend('any', { ...two, match: { revision: 0, ids: [a] } }, [a, b]),
    { kind: 'conflict', actual: 1 },
    'the batch runs past the tail',
  );
  const exact = { revision: 5, lastHash: 'h5', match: { revision: 3, ids: [a, b], lastPosition: pos(40) } };
  t.same(
    decideAppend(2, exact, [a, b]),
    { kind: 'duplicate', nextRevision: 4, position: pos(40) },
    'exact: the batch sits right after the expected revision',
  );
  t.same(decideAppend(3, exact, [a, b]), { kind: 'conflict', actual: 5 });
  t.same(decideAppend('no_stream', { revision: 1, lastHash: 'h1' }, [c]), { kind: 'conflict', actual: 1 });
  t.same(decideAppend('stream_exists', { revision: -1, lastHash: GENESIS_HASH }, [c]), { kind: 'conflict', actual: -1 });
  t.same(decideAppend(0, { revision: -1, lastHash: GENESIS_HASH }, [c]), { kind: 'conflict', actual: -1 });
  t.same(decideAppend('any', { revision: -1, lastHash: GENESIS_HASH }, [c]), {
    kind: 'append',
    expectedRevision: 'no_stream',
    prevHash: GENESIS_HASH,
  });
  t.same(decideAppend('stream_exists', { revision: 6, lastHash: 'h6' }, [c]), { kind: 'append', expectedRevision: 6n, prevHash: 'h6' });
  t.same(decideAppend(6, { revision: 6, lastHash: 'h6' }, [c]), { kind: 'append', expectedRevision: 6n, prevHash: 'h6' });
});

t.test('chained metadata carries prevHash and hash; read back it verifies and detects tampering', async (t) => {
  const org = randomUUID();
  const first = storedRecords('org-1', org, 3);
  const lastHash = splitStoredMetadata(first.at(-1)!.metadata).hash!;
  const second = storedRecords('org-1', org, 2, 3, lastHash);
  t.equal((first[0]!.metadata as { prevHash: string }).prevHash, GENESIS_HASH);
  t.equal((second[0]!.metadata as { prevHash: string }).prevHash, lastHash, 'a later batch links onto the tail');

  const events = [...first, ...second].map((r) => toRecordedEvent(r));
  t.equal(verifyStreamChain(events), null, 'the chain holds across batches');
  t.notOk('hash' in events[0]!.metadata, 'hash is not left in the metadata');
  t.equal(events[0]!.hash, splitStoredMetadata(first[0]!.metadata).hash);
  t.equal(events[0]!.metadata.schemaVersion, 1);
  t.same(events[2]!.position, pos(1020));
  t.equal(events[4]!.revision, 4);
  t.same(events[0]!.recordedAt, new Date('2026-01-01T00:00:00Z'));

  const tampered = events.map((e, i) => (i === 3 ? { ...e, data: { ...(e.data as object), phone: '+15129999999' } } : e)) as typeof events;
  t.same(verifyStreamChain(tampered), { event: tampered[3], reason: 'hash_mismatch' });
});

t.test('the client event is JSON with the given id and the stored metadata', async (t) => {
  const [prepared] = prepareEvents('org-2', [phoneEvent(randomUUID(), 1)]);
  const [chained] = chainEvents([prepared!], GENESIS_HASH);
  const data = toEventData(chained!);
  t.equal(data.id, prepared!.id);
  t.equal(data.type, 'OrgPhoneAdded');
  t.equal(data.contentType, 'application/json');
  t.same(data.data, prepared!.data);
  t.same(data.metadata, { ...prepared!.metadata, prevHash: GENESIS_HASH, hash: chained!.metadata.hash });
});

t.test('reading refuses what this store did not write, as InvalidEventError', async (t) => {
  const [record] = storedRecords('org-3', randomUUID(), 1);
  const { hash: _hash, ...withoutHash } = record!.metadata as Record<string, unknown>;
  t.throws(() => toRecordedEvent({ ...record!, metadata: withoutHash }), InvalidEventError, 'no hash');
  t.throws(() => toRecordedEvent({ ...record!, type: 'SomethingElse' }), InvalidEventError, 'unknown type');
  t.throws(() => toRecordedEvent({ ...record!, data: { orgId: 'x' } }), InvalidEventError, 'data off schema');
  t.throws(
    () => toRecordedEvent({ ...record!, metadata: { ...(record!.metadata as object), extra: 1 } }),
    InvalidEventError,
    'metadata off schema',
  );
  t.same(toRecordedEvent({ ...record!, position: undefined }).position, UNKNOWN_POSITION, 'a stream read without a position');
});

t.test('stream read options map to the client as the PostgreSQL adapter reads them', async (t) => {
  t.same(planStreamRead(), { direction: 'forwards', fromRevision: 'start' });
  t.same(planStreamRead({ fromRevision: 2 }), { direction: 'forwards', fromRevision: 2n });
  t.same(planStreamRead({ direction: 'backwards', maxCount: 2 }), { direction: 'backwards', fromRevision: 'end', maxCount: 2 });
  t.same(planStreamRead({ direction: 'backwards', fromRevision: 1 }), { direction: 'backwards', fromRevision: 1n });
  t.same(planStreamRead({ fromRevision: -3 })?.fromRevision, 'start', 'forwards from before the start reads from the start');
  t.equal(planStreamRead({ direction: 'backwards', fromRevision: -1 }), null, 'backwards from before the start asks nothing');
  t.equal(planStreamRead({ maxCount: 0 }), null, 'no event wanted: nothing to ask');
  t.throws(() => planStreamRead({ maxCount: -1 }), RangeError);
  t.throws(() => planStreamRead({ fromRevision: 0.5 }), RangeError);
});

t.test('stored metadata splits into metadata and hash', async (t) => {
  t.same(splitStoredMetadata({ a: 1, hash: 'h' }), { metadata: { a: 1 }, hash: 'h' });
  t.same(splitStoredMetadata({ a: 1 }), { metadata: { a: 1 }, hash: undefined });
  t.same(splitStoredMetadata(new Uint8Array([1])), { metadata: {}, hash: undefined });
  t.same(splitStoredMetadata(undefined), { metadata: {}, hash: undefined });
});

t.test('client-side filtering: system events, prefixes, types and org must all match', async (t) => {
  t.ok(isSystemEvent({ streamId: '$stats-1', type: 'x' }));
  t.ok(isSystemEvent({ streamId: 'org-1', type: '$metadata' }));
  t.notOk(isSystemEvent({ streamId: 'org-1', type: 'OrgCreated' }));
  const event = { streamId: 'lead-7', type: 'OrgPhoneAdded', metadata: { orgId: 'o1' } };
  t.ok(matchesFilter(undefined, event));
  t.ok(matchesFilter({}, event));
  t.ok(matchesFilter({ streamPrefixes: [] }, event), 'an empty list does not filter');
  t.ok(matchesFilter({ streamPrefixes: ['booking-', 'lead-'] }, event));
  t.notOk(matchesFilter({ streamPrefixes: ['booking-'] }, event));
  t.ok(matchesFilter({ eventTypes: ['OrgPhoneAdded'] }, event));
  t.notOk(matchesFilter({ eventTypes: ['OrgCreated'] }, event));
  t.ok(matchesFilter({ orgId: 'o1' }, event));
  t.notOk(matchesFilter({ orgId: 'o2' }, event));
  t.notOk(matchesFilter({ orgId: 'o1' }, { ...event, metadata: new Uint8Array() }));
  t.notOk(matchesFilter({ streamPrefixes: ['lead-'], eventTypes: ['OrgPhoneAdded'], orgId: 'o2' }, event), 'all criteria apply');
});

t.test('the server-side filter takes prefixes, else exact types, else excludes system events', async (t) => {
  const onCheckpoint = () => {};
  const byStream = serverFilter({ streamPrefixes: ['lead-'], eventTypes: ['OrgCreated'] }, onCheckpoint, 3);
  t.match(byStream, { filterOn: 'streamName', prefixes: ['lead-'], checkpointInterval: 3 });
  t.equal(byStream.checkpointReached, onCheckpoint);
  const byType = serverFilter({ eventTypes: ['OrgCreated', 'OrgPhoneAdded'] }, onCheckpoint);
  t.match(byType, { filterOn: 'eventType', checkpointInterval: 1 });
  const regex = new RegExp((byType as { regex: string }).regex);
  t.ok(regex.test('OrgCreated'));
  t.ok(regex.test('OrgPhoneAdded'));
  t.notOk(regex.test('OrgCreatedLater'), 'types match exactly, not as prefixes');
  t.notOk(regex.test('XOrgCreated'));
  const none = serverFilter(undefined, onCheckpoint);
  t.match(none, { filterOn: 'eventType' });
  t.notOk(new RegExp((none as { regex: string }).regex).test('$metadata'));
  t.ok(new RegExp((none as { regex: string }).regex).test('OrgCreated'));
  t.equal(exactMatchRegex(['a.b', 'c$']), '^(?:a\\.b|c\\$)$');
});

t.test('retry and resubscribe delays are bounded', async (t) => {
  t.equal(
    appendRetryDelayMs(1, () => 0),
    0,
  );
  t.equal(
    appendRetryDelayMs(1, () => 0.999),
    9,
  );
  t.equal(
    appendRetryDelayMs(30, () => 0.999),
    99,
  );
  t.same([1, 2, 3, 4].map(resubscribeDelayMs), [100, 200, 400, 800]);
  t.equal(resubscribeDelayMs(50), 5000);
});

t.test('batches: filtered events move the checkpoint, repeats are dropped, full batches split', async (t) => {
  const org = randomUUID();
  const leads = storedRecords('lead-1', org, 5).map((r, i) => ({ ...r, position: pos(100 + i * 10) })); // 100..140
  const other = { ...storedRecords('org-9', org, 1)[0]!, position: pos(145) };
  const system = { ...other, streamId: '$stats-x', type: '$statsCollected', position: pos(150) };
  const builder = new BatchBuilder(pos(90), 2, { streamPrefixes: ['lead-'] });
  t.notOk(builder.hasProgress);
  t.equal(builder.take(), null);

  t.ok(builder.receive(leads[0]!));
  t.notOk(builder.full);
  t.ok(builder.receive(leads[1]!));
  t.ok(builder.full);
  const first = builder.take()!;
  t.same(
    first.events.map((e) => e.revision),
    [0, 1],
  );
  t.same(first.checkpoint, pos(110));
  t.equal(first.live, false);

  t.notOk(builder.receive(leads[1]!), 'a repeat (after resubscribing) is dropped');
  t.notOk(builder.receive({ ...leads[0]!, position: pos(90) }), 'at or before the start is dropped');
  builder.receive(leads[2]!);
  builder.receive(other);
  builder.receive(system);
  t.same(builder.resumeFrom, pos(150), 'resubscription starts after the last event received, filtered or not');
  builder.live = true;
  const second = builder.take()!;
  t.same(
    second.events.map((e) => e.revision),
    [2],
  );
  t.same(second.checkpoint, pos(150), 'the checkpoint covers the filtered-out events');
  t.equal(second.live, true);

  t.notOk(builder.checkpointReached(pos(120)), 'a stale server checkpoint is ignored');
  t.ok(builder.checkpointReached(pos(200)));
  t.same(builder.resumeFrom, pos(150), 'server checkpoints do not decide what is dropped');
  const empty = builder.take()!;
  t.same(empty.events, []);
  t.same(empty.checkpoint, pos(200));
  t.equal(builder.take(), null, 'nothing new');

  t.ok(builder.receive({ ...leads[3]!, position: pos(200) }), 'an event at a reported checkpoint is still delivered');
  const late = builder.take()!;
  t.same(
    late.events.map((e) => e.revision),
    [3],
  );
  t.same(late.checkpoint, pos(200), 'checkpoints never go back');
});

t.test('a batch taken with more events waiting ends at its last event and is not live', async (t) => {
  const builder = new BatchBuilder(null, 2);
  const records = storedRecords('lead-2', randomUUID(), 3);
  // fill past the batch size without taking in between
  for (const record of records) builder.receive(record);
  builder.live = true;
  const first = builder.take()!;
  t.equal(first.events.length, 2);
  t.same(first.checkpoint, records[1]!.position);
  t.equal(first.live, false);
  const second = builder.take()!;
  t.same(
    second.events.map((e) => e.revision),
    [2],
  );
  t.equal(second.live, true);
});

/** A stand-in for the client's Subscription: the same Transform that emits markers while events are buffered. */
class MarkerTransform extends Transform {
  constructor(readonly onCheckpoint: (position: { commit: bigint; prepare: bigint }) => void) {
    super({ objectMode: true });
  }
  override _transform(message: { event?: unknown; caughtUp?: true; checkpoint?: number }, _enc: BufferEncoding, next: TransformCallback) {
    if (message.caughtUp) this.emit('caughtUp');
    if (message.checkpoint !== undefined) this.onCheckpoint(pos(message.checkpoint));
    if (message.event) return next(null, { event: message.event });
    next();
  }
}

t.test('the feed keeps markers behind the events buffered before them', async (t) => {
  let feed: SubscriptionFeed | undefined;
  const stream = new MarkerTransform((position) => feed?.checkpoint(position));
  let cancelled = false;
  // high water 2: after two queued events the stream is paused and later events wait in its buffer
  feed = new SubscriptionFeed(
    stream,
    async () => {
      cancelled = true;
    },
    2,
  );
  const records = storedRecords('lead-3', randomUUID(), 4);
  stream.write({ event: records[0] });
  stream.write({ event: records[1] });
  stream.write({ event: records[2] });
  stream.write({ checkpoint: 500 });
  stream.write({ caughtUp: true });
  stream.write({ event: records[3] });
  t.ok(stream.isPaused(), 'backpressure paused the subscription');
  t.equal(stream.readableLength, 2, 'two events wait in its buffer, behind which the markers were emitted');
  const items: FeedItem[] = [];
  for (let i = 0; i < 6; i++) {
    const item = await feed.next(1000);
    if (typeof item === 'string') break;
    items.push(item);
  }
  t.same(
    items.map((i) => (i.kind === 'event' ? `event ${i.record.revision}` : i.kind)),
    ['event 0', 'event 1', 'event 2', 'checkpoint', 'caughtUp', 'event 3'],
  );
  t.notOk(stream.isPaused(), 'draining the queue resumed it');
  t.equal(await feed.next(10), 'timeout');
  const controller = new AbortController();
  const waiting = feed.next(undefined, controller.signal);
  controller.abort();
  t.equal(await waiting, 'aborted');
  await feed.close();
  t.ok(cancelled, 'closing cancels the subscription');
  t.equal(await feed.next(undefined), 'aborted', 'a closed feed yields nothing more');
});

t.test('the feed reports errors and the end of the subscription', async (t) => {
  const stream = new MarkerTransform(() => {});
  const feed = new SubscriptionFeed(stream, async () => {});
  stream.destroy(new Error('connection reset'));
  const item = await feed.next(1000);
  t.match(item, { kind: 'error', error: { message: 'connection reset' } });
  await feed.close();
});

t.test('raw reads return data and metadata as stored, so audit verifies what was written', async (t) => {
  const org = '00000000-0000-4000-8000-0000000000aa';
  const records = storedRecords('org-raw', org, 2);
  const raw = records.map((r) => toRecordedEvent(r, true));
  t.equal(verifyStreamChain(raw), null, 'the chain holds on the stored form');
  const tampered = { ...records[1]!, data: { ...(records[1]!.data as object), phone: '+15129999999' } };
  t.equal(verifyStreamChain([raw[0]!, toRecordedEvent(tampered, true)])?.reason, 'hash_mismatch');
});

t.test('Idempotency-Key claims: one stream per (org, key), hidden from reads, matched on request and target', async (t) => {
  const stream = claimStreamName('o1', 'visit-4711');
  t.equal(stream, claimStreamName('o1', 'visit-4711'), 'deterministic');
  t.not(stream, claimStreamName('o2', 'visit-4711'), 'per org');
  t.not(stream, claimStreamName('o1', 'visit-4712'), 'per key');
  t.ok(isSystemEvent({ streamId: stream, type: 'IdempotencyKeyClaimed' }), 'claims are not domain events');
  const event = claimEvent({ orgId: 'o1', key: 'visit-4711', requestHash: 'h1', streamId: 'booking-1' });
  t.match(event, { type: 'IdempotencyKeyClaimed', data: { orgId: 'o1', key: 'visit-4711', requestHash: 'h1', streamId: 'booking-1' } });
  t.ok(claimMatches(event.data, { key: 'visit-4711', requestHash: 'h1' }, 'booking-1'));
  t.notOk(claimMatches(event.data, { key: 'visit-4711', requestHash: 'h2' }, 'booking-1'), 'another request');
  t.notOk(claimMatches(event.data, { key: 'visit-4711', requestHash: 'h1' }, 'booking-2'), 'another stream');
  t.notOk(claimMatches(undefined, { key: 'visit-4711', requestHash: 'h1' }, 'booking-1'), 'no claim read back');
});
