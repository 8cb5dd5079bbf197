// The behaviour every EventStore adapter must show. Run by postgres.int.test.ts always and by
// esdb.int.test.ts when EVENTSTORE_CONNECTION_STRING is set.
import { randomUUID } from 'node:crypto';
import type { Test } from 'tap';
import {
  type AppendMetadata,
  type EventStore,
  type EventToAppend,
  IdempotencyKeyClaimedError,
  type Position,
  type RecordedEvent,
  WrongExpectedRevisionError,
} from '../../src/eventstore/port.ts';
import { comparePositions } from '../../src/eventstore/position.ts';
import { verifyStreamChain } from '../../src/eventstore/verify-chain.ts';

/** Builds a store for one test; the suite closes it. */
export type StoreFactory = () => Promise<EventStore>;

/** Sizes of the concurrency tests, so a slow remote store can run smaller ones. */
export interface ConformanceSizes {
  readonly writers: number;
  readonly eventsPerWriter: number;
}

/** Distinct per run, so suites can share one server without seeing each other's streams. */
export function runTag(): string {
  return randomUUID().slice(0, 8);
}

export function metadataFor(orgId: string): AppendMetadata {
  return {
    orgId,
    actor: { type: 'system', id: 'conformance', label: 'conformance suite' },
    correlationId: randomUUID(),
    causationId: randomUUID(),
    occurredAt: new Date().toISOString(),
  };
}

/** A small valid event of the catalog (a phone added to an org). */
export function phoneEvent(orgId: string, n: number, id: string = randomUUID()): EventToAppend {
  return {
    id,
    type: 'OrgPhoneAdded',
    data: { orgId, phone: `+1512${String(n % 10_000_000).padStart(7, '0')}` },
    metadata: metadataFor(orgId),
  };
}

async function conflictOf(promise: Promise<unknown>): Promise<WrongExpectedRevisionError | undefined> {
  try {
    await promise;
    return undefined;
  } catch (error) {
    if (error instanceof WrongExpectedRevisionError) return error;
    throw error;
  }
}

/**
 * Waits until readers can see `position`. Readers of the PostgreSQL store see a commit only once every
 * older transaction on the server has finished (that is what keeps them from skipping), so a read right
 * after a write may briefly miss it while some other session's transaction is open.
 */
export async function waitForHead(store: EventStore, position: Position, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (comparePositions(await store.headPosition(), position) < 0) {
    if (Date.now() > deadline) throw new Error(`position ${position.commit}.${position.prepare} not visible after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Reads everything after `from` in pages, as a subscriber catching up would. */
export async function readAllEvents(store: EventStore, filter?: { streamPrefixes?: string[]; orgId?: string }): Promise<RecordedEvent[]> {
  const out: RecordedEvent[] = [];
  let from: Position | null = null;
  for (;;) {
    const page = await store.readAll({ from, limit: 250, filter });
    out.push(...page.events);
    if (page.events.length < 250) return out;
    from = page.checkpoint;
  }
}

export function conformanceSuite(t: Test, makeStore: StoreFactory, sizes: ConformanceSizes): void {
  const withStore = (name: string, fn: (t: Test, store: EventStore, org: string, tag: string) => Promise<void>) =>
    t.test(name, async (t) => {
      const store = await makeStore();
      t.teardown(() => store.close());
      await fn(t, store, randomUUID(), runTag());
    });

  withStore('no_stream creates a stream and refuses an existing one, reporting its revision', async (t, store, org, tag) => {
    const stream = `org-${tag}-a`;
    const first = await store.append(stream, [phoneEvent(org, 1), phoneEvent(org, 2)], { expectedRevision: 'no_stream' });
    t.equal(first.nextRevision, 1);
    t.equal(first.duplicate, false);
    const conflict = await conflictOf(store.append(stream, [phoneEvent(org, 3)], { expectedRevision: 'no_stream' }));
    t.ok(conflict, 'second no_stream append conflicts');
    t.equal(conflict?.actual, 1, 'conflict carries the actual revision');
  });

  withStore('an exact revision appends only at that revision', async (t, store, org, tag) => {
    const stream = `org-${tag}-b`;
    await store.append(stream, [phoneEvent(org, 1)], { expectedRevision: 'no_stream' });
    const ok = await store.append(stream, [phoneEvent(org, 2)], { expectedRevision: 0 });
    t.equal(ok.nextRevision, 1);
    const stale = await conflictOf(store.append(stream, [phoneEvent(org, 3)], { expectedRevision: 0 }));
    t.equal(stale?.actual, 1);
    const ahead = await conflictOf(store.append(stream, [phoneEvent(org, 3)], { expectedRevision: 5 }));
    t.equal(ahead?.actual, 1);
    const missing = await conflictOf(store.append(`org-${tag}-missing`, [phoneEvent(org, 3)], { expectedRevision: 0 }));
    t.equal(missing?.actual, -1, 'an exact revision on a missing stream conflicts with -1');
  });

  withStore('stream_exists requires the stream; any accepts every state', async (t, store, org, tag) => {
    const stream = `org-${tag}-c`;
    const missing = await conflictOf(store.append(stream, [phoneEvent(org, 1)], { expectedRevision: 'stream_exists' }));
    t.equal(missing?.actual, -1);
    t.same(await store.readStream(stream), [], 'a refused append leaves no stream behind');
    const a = await store.append(stream, [phoneEvent(org, 1)], { expectedRevision: 'any' });
    t.equal(a.nextRevision, 0);
    const b = await store.append(stream, [phoneEvent(org, 2)], { expectedRevision: 'stream_exists' });
    t.equal(b.nextRevision, 1);
    const c = await store.append(stream, [phoneEvent(org, 3)], { expectedRevision: 'any' });
    t.equal(c.nextRevision, 2);
  });

  withStore('re-appending the same event ids at the same place writes nothing; a partial match conflicts', async (t, store, org, tag) => {
    const stream = `org-${tag}-d`;
    const batch = [phoneEvent(org, 1), phoneEvent(org, 2)];
    const first = await store.append(stream, batch, { expectedRevision: 'no_stream' });
    const again = await store.append(stream, batch, { expectedRevision: 'no_stream' });
    t.equal(again.duplicate, true);
    t.equal(again.nextRevision, first.nextRevision);
    t.same(again.position, first.position, 'the retry reports the original position');
    const anyRetry = await store.append(stream, batch, { expectedRevision: 'any' });
    t.equal(anyRetry.nextRevision, 1, 'an any-retry of the same ids is also a no-op');
    t.equal((await store.readStream(stream)).length, 2, 'still two events');
    const partial = await conflictOf(store.append(stream, [batch[0]!, phoneEvent(org, 9)], { expectedRevision: 'no_stream' }));
    t.ok(partial, 'same first id with a different second event conflicts');
    t.equal((await store.readStream(stream)).length, 2, 'nothing written by the partial match');
  });

  withStore('of N concurrent writers expecting the same revision exactly one wins', async (t, store, org, tag) => {
    const stream = `org-${tag}-e`;
    await store.append(stream, [phoneEvent(org, 0)], { expectedRevision: 'no_stream' });
    for (let revision = 0; revision < 5; revision++) {
      const results = await Promise.allSettled(
        Array.from({ length: 16 }, (_, i) => store.append(stream, [phoneEvent(org, i)], { expectedRevision: revision })),
      );
      const won = results.filter((r) => r.status === 'fulfilled');
      const lost = results.filter((r) => r.status === 'rejected' && r.reason instanceof WrongExpectedRevisionError);
      t.equal(won.length, 1, `revision ${revision + 1}: one winner`);
      t.equal(lost.length, 15, `revision ${revision + 1}: fifteen conflicts`);
    }
    const events = await store.readStream(stream);
    t.same(
      events.map((e) => e.revision),
      [0, 1, 2, 3, 4, 5],
      'revisions are contiguous',
    );
  });

  withStore('concurrent writers retrying on conflict lose no event and duplicate none', async (t, store, org, tag) => {
    const stream = `org-${tag}-f`;
    const writers = 8;
    const perWriter = 10;
    const ids = new Set<string>();
    await Promise.all(
      Array.from({ length: writers }, async (_, w) => {
        for (let i = 0; i < perWriter; i++) {
          const event = phoneEvent(org, w * 100 + i);
          ids.add(event.id!);
          for (;;) {
            const current = (await store.readStream(stream, { direction: 'backwards', maxCount: 1 }))[0]?.revision ?? -1;
            const expectedRevision = current === -1 ? 'no_stream' : current;
            if (!(await conflictOf(store.append(stream, [event], { expectedRevision })))) break;
          }
        }
      }),
    );
    const events = await store.readStream(stream);
    t.equal(events.length, writers * perWriter);
    t.same(new Set(events.map((e) => e.id)), ids, 'every event exactly once');
    t.equal(verifyStreamChain(events), null, 'hash chain intact under contention');
  });

  withStore('readStream reads forwards, backwards, from a revision; a missing stream reads as no events', async (t, store, org, tag) => {
    const stream = `org-${tag}-g`;
    await store.append(
      stream,
      [0, 1, 2, 3, 4].map((n) => phoneEvent(org, n)),
      { expectedRevision: 'no_stream' },
    );
    t.same(
      (await store.readStream(stream)).map((e) => e.revision),
      [0, 1, 2, 3, 4],
    );
    t.same(
      (await store.readStream(stream, { fromRevision: 2 })).map((e) => e.revision),
      [2, 3, 4],
    );
    t.same(
      (await store.readStream(stream, { direction: 'backwards', maxCount: 2 })).map((e) => e.revision),
      [4, 3],
    );
    t.same(
      (await store.readStream(stream, { direction: 'backwards', fromRevision: 1 })).map((e) => e.revision),
      [1, 0],
    );
    const [first] = await store.readStream(stream, { maxCount: 1 });
    t.equal(first?.type, 'OrgPhoneAdded');
    t.same(first?.data, { orgId: org, phone: '+15120000000' }, 'data round-trips');
    t.equal(first?.metadata.orgId, org);
    t.equal(first?.metadata.schemaVersion, 1);
    t.same(await store.readStream(`org-${tag}-nothing`), [], 'a stream never written has no events');
    t.same(await store.readStream(`org-${tag}-nothing`, { direction: 'backwards', maxCount: 1 }), [], 'also read backwards');
    t.same(await store.readStream(stream, { fromRevision: 5 }), [], 'past the end of a stream: no events');
    t.same(await store.readStream(stream, { maxCount: 0 }), [], 'no event asked for: none');
  });

  withStore('readAll filters by stream prefix, event type and org', async (t, store, org, tag) => {
    const other = randomUUID();
    await store.append(`booking-${tag}-1`, [phoneEvent(org, 1)], { expectedRevision: 'no_stream' });
    await store.append(`lead-${tag}-1`, [phoneEvent(org, 2)], { expectedRevision: 'no_stream' });
    await store.append(`lead-${tag}-2`, [phoneEvent(other, 3)], { expectedRevision: 'no_stream' });
    const last = await store.append(
      `org-${tag}-h`,
      [
        {
          type: 'OrgCreated',
          data: { orgId: org, name: 'Acme HVAC', timezone: 'America/Chicago', phones: [] },
          metadata: metadataFor(org),
        },
      ],
      { expectedRevision: 'no_stream' },
    );
    await waitForHead(store, last.position);
    const byPrefix = await readAllEvents(store, { streamPrefixes: [`lead-${tag}-`] });
    t.same(byPrefix.map((e) => e.streamId).sort(), [`lead-${tag}-1`, `lead-${tag}-2`]);
    const byOrg = (await readAllEvents(store, { orgId: org })).filter((e) => e.streamId.includes(tag));
    t.same(byOrg.map((e) => e.streamId).sort(), [`booking-${tag}-1`, `lead-${tag}-1`, `org-${tag}-h`]);
    const page = await store.readAll({ filter: { eventTypes: ['OrgCreated'], orgId: org } });
    t.same(
      page.events.map((e) => e.streamId),
      [`org-${tag}-h`],
    );
    t.ok(page.checkpoint, 'a filtered page still returns a checkpoint');
    const after = await store.readAll({ from: page.checkpoint, filter: { eventTypes: ['OrgCreated'], orgId: org } });
    t.same(after.events, [], 'nothing after the checkpoint');
  });

  withStore('a trusted readAll returns what a validating one returns', async (t, store, org, tag) => {
    const last = await store.append(
      `org-${tag}-t`,
      [
        {
          type: 'OrgCreated',
          data: { orgId: org, name: 'Acme HVAC', timezone: 'America/Chicago', phones: ['+15125550100'] },
          metadata: metadataFor(org),
        },
        phoneEvent(org, 7),
      ],
      { expectedRevision: 'no_stream' },
    );
    await waitForHead(store, last.position);
    const filter = { orgId: org };
    const validated = await store.readAll({ filter });
    const trusted = await store.readAll({ filter, trusted: true });
    t.equal(validated.events.length, 2);
    t.same(trusted, validated);
  });

  withStore('a subscriber following many concurrent writers sees every event once, in the final order', async (t, store, org, tag) => {
    const { writers, eventsPerWriter } = sizes;
    const total = writers * eventsPerWriter;
    const prefix = `lead-${tag}-`;
    const controller = new AbortController();
    const seen: RecordedEvent[] = [];
    let batches = 0;
    const follow = (async () => {
      for await (const batch of store.subscribe({ filter: { streamPrefixes: [prefix] }, batchSize: 100, signal: controller.signal })) {
        batches++;
        seen.push(...batch.events);
        if (seen.length >= total) controller.abort();
      }
    })();
    await Promise.all(
      Array.from({ length: writers }, async (_, w) => {
        for (let i = 0; i < eventsPerWriter; i++) {
          // a few streams shared between writers, so appends contend as well as interleave
          const stream = `${prefix}${(w + i) % 7}`;
          await store.append(stream, [phoneEvent(org, w * 1000 + i)], { expectedRevision: 'any' });
        }
      }),
    );
    const timeout = setTimeout(() => controller.abort(), 60_000);
    await follow;
    clearTimeout(timeout);
    const finalOrder = await readAllEvents(store, { streamPrefixes: [prefix] });
    t.equal(finalOrder.length, total, 'the store holds every event');
    t.equal(seen.length, total, 'the subscriber saw every event');
    t.equal(new Set(seen.map((e) => e.id)).size, total, 'no event twice');
    t.same(
      seen.map((e) => e.id),
      finalOrder.map((e) => e.id),
      "the subscriber's order is the store's final order",
    );
    t.ok(
      seen.every((e, i) => i === 0 || comparePositions(seen[i - 1]!.position, e.position) < 0),
      'positions strictly increase',
    );
    t.ok(batches >= 1);
  });

  withStore('a subscription resumed from a checkpoint continues exactly where it stopped', async (t, store, org, tag) => {
    const prefix = `booking-${tag}-`;
    for (let i = 0; i < 30; i++) await store.append(`${prefix}${i % 3}`, [phoneEvent(org, i)], { expectedRevision: 'any' });
    const firstHalf: RecordedEvent[] = [];
    let checkpoint: Position | null = null;
    const c1 = new AbortController();
    for await (const batch of store.subscribe({ filter: { streamPrefixes: [prefix] }, batchSize: 7, signal: c1.signal })) {
      firstHalf.push(...batch.events);
      checkpoint = batch.checkpoint;
      if (firstHalf.length >= 14) c1.abort();
    }
    for (let i = 30; i < 40; i++) await store.append(`${prefix}${i % 3}`, [phoneEvent(org, i)], { expectedRevision: 'any' });
    const rest: RecordedEvent[] = [];
    const c2 = new AbortController();
    const timer = setTimeout(() => c2.abort(), 30_000);
    for await (const batch of store.subscribe({
      from: checkpoint,
      filter: { streamPrefixes: [prefix] },
      batchSize: 7,
      signal: c2.signal,
    })) {
      rest.push(...batch.events);
      if (firstHalf.length + rest.length >= 40) c2.abort();
    }
    clearTimeout(timer);
    const all = await readAllEvents(store, { streamPrefixes: [prefix] });
    t.same(
      [...firstHalf, ...rest].map((e) => e.id),
      all.map((e) => e.id),
      'resumed without gap or repeat',
    );
  });

  withStore('every stream keeps an intact hash chain that detects a changed event', async (t, store, org, tag) => {
    const stream = `org-${tag}-i`;
    for (let i = 0; i < 5; i++) await store.append(stream, [phoneEvent(org, i), phoneEvent(org, i + 100)], { expectedRevision: 'any' });
    const events = await store.readStream(stream);
    t.equal(verifyStreamChain(events), null, 'intact as written');
    t.equal(events[0]!.metadata.prevHash, '0'.repeat(64), 'the chain starts at the genesis hash');
    const tampered = events.map((e, i) =>
      i === 4 ? { ...e, data: { ...(e.data as object), phone: '+15129999999' } } : e,
    ) as RecordedEvent[];
    const broken = verifyStreamChain(tampered);
    t.equal(broken?.event.revision, 4, 'the altered event is named');
    t.equal(broken?.reason, 'hash_mismatch');
  });

  withStore('append refuses events that fail the catalog and writes nothing', async (t, store, org, tag) => {
    const stream = `org-${tag}-j`;
    await t.rejects(
      store.append(stream, [{ type: 'OrgPhoneAdded', data: { orgId: org, phone: '5125550100' }, metadata: metadataFor(org) }], {
        expectedRevision: 'any',
      }),
      { name: 'InvalidEventError' },
    );
    await t.rejects(
      store.append(stream, [{ type: 'NoSuchEvent' as never, data: {} as never, metadata: metadataFor(org) }], { expectedRevision: 'any' }),
      { name: 'InvalidEventError' },
    );
    t.same(await store.readStream(stream), [], 'no stream written');
  });

  withStore('headPosition is the last visible event', async (t, store, org, tag) => {
    const result = await store.append(`org-${tag}-k`, [phoneEvent(org, 1)], { expectedRevision: 'no_stream' });
    await waitForHead(store, result.position);
    const head = await store.headPosition();
    t.ok(head && comparePositions(head, result.position) >= 0, 'head is at or after our append');
  });

  withStore('newestPosition is at or after every position an append returned, at once', async (t, store, org, tag) => {
    const result = await store.append(`org-${tag}-n`, [phoneEvent(org, 1)], { expectedRevision: 'no_stream' });
    const newest = await store.newestPosition();
    t.ok(newest && comparePositions(newest, result.position) >= 0, 'no waiting for visibility');
  });

  withStore('a claimed Idempotency-Key admits only the same request on the same stream', async (t, store, org, tag) => {
    const key = `key-${tag}`;
    const claim = { key, requestHash: 'hash-a' };
    const ids = [randomUUID()];
    const first = await store.append(`org-${tag}-m`, [phoneEvent(org, 1, ids[0])], { expectedRevision: 'no_stream', claim });
    t.equal(first.duplicate, false);
    const retry = await store.append(`org-${tag}-m`, [phoneEvent(org, 1, ids[0])], { expectedRevision: 'no_stream', claim });
    t.equal(retry.duplicate, true, 'the same request retried collapses into a duplicate');
    await t.rejects(
      store.append(`org-${tag}-m`, [phoneEvent(org, 2)], { expectedRevision: 0, claim: { key, requestHash: 'hash-b' } }),
      IdempotencyKeyClaimedError,
      'another request under the key is refused',
    );
    await t.rejects(
      store.append(`org-${tag}-other`, [phoneEvent(org, 3)], { expectedRevision: 'no_stream', claim }),
      IdempotencyKeyClaimedError,
      'the same request hash aimed at another stream is refused',
    );
    t.same(await store.readStream(`org-${tag}-other`), [], 'a refused claim writes nothing');
    t.equal((await store.readStream(`org-${tag}-m`)).length, 1, 'one event on the claimed stream');
    const otherOrg = randomUUID();
    const elsewhere = await store.append(`org-${tag}-n`, [phoneEvent(otherOrg, 4)], {
      expectedRevision: 'no_stream',
      claim: { key, requestHash: 'hash-z' },
    });
    t.equal(elsewhere.duplicate, false, 'keys are per org');
  });

  withStore('concurrent appends claiming one key: exactly one request wins, identical ones collapse', async (t, store, org, tag) => {
    const key = `race-${tag}`;
    const sameIds = [randomUUID()];
    const attempts = await Promise.allSettled([
      ...Array.from({ length: 4 }, () =>
        store.append(`org-${tag}-r`, [phoneEvent(org, 1, sameIds[0])], {
          expectedRevision: 'no_stream',
          claim: { key, requestHash: 'same' },
        }),
      ),
      ...Array.from({ length: 4 }, (_, i) =>
        store.append(`org-${tag}-r`, [phoneEvent(org, 2 + i)], {
          expectedRevision: 'no_stream',
          claim: { key, requestHash: `other-${i}` },
        }),
      ),
    ]);
    const events = await store.readStream(`org-${tag}-r`);
    t.equal(events.length, 1, 'one event written');
    const winner = events[0]!.id === sameIds[0] ? 'same' : 'other';
    const fulfilled = attempts.filter((a) => a.status === 'fulfilled').length;
    if (winner === 'same') t.equal(fulfilled, 4, 'the identical requests all succeed (one append, three duplicates)');
    else t.equal(fulfilled, 1, 'only the winning request succeeds');
    for (const a of attempts) {
      if (a.status === 'rejected')
        t.ok(a.reason instanceof IdempotencyKeyClaimedError || a.reason instanceof WrongExpectedRevisionError, String(a.reason));
    }
  });
}
