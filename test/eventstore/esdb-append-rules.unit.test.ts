// The EventStoreDB adapter's append-path rules that need no server: where a retry's events are looked
// for, how a racing repeat the server answered with success is told from this request's own write,
// when a claim whose events never landed may be taken over, and the max-append-size error.
import { randomUUID } from 'node:crypto';
import t from 'tap';
import {
  AppendTooLargeError,
  decideClaim,
  expectedStart,
  findBatch,
  isRepeatOfAnother,
  readClaimRecord,
} from '../../src/eventstore/esdb/mapping.ts';

const pos = (n: number) => ({ commit: BigInt(n), prepare: BigInt(n) });
const run = (ids: string[], from: number) => ids.map((id, i) => ({ id, revision: BigInt(from + i), position: pos(100 + from + i) }));

t.test('an exact expectation names where its batch starts; any and stream_exists do not', async (t) => {
  t.equal(expectedStart('no_stream'), 0);
  t.equal(expectedStart(4), 5);
  t.equal(expectedStart('any'), undefined);
  t.equal(expectedStart('stream_exists'), undefined);
});

t.test('findBatch finds the batch in a run of events, with its last position only when whole', async (t) => {
  const [a, b, c] = [randomUUID(), randomUUID(), randomUUID()];
  t.same(findBatch(run([c, a, b], 3), [a, b]), { revision: 4, ids: [a, b], lastPosition: pos(105) });
  t.same(findBatch(run([c, a], 3), [a, b]), { revision: 4, ids: [a] }, 'cut short: ids so far, no position');
  t.same(findBatch(run([a.toUpperCase(), b], 0), [a, b])?.revision, 0, 'ids compare case-insensitively');
  t.equal(findBatch(run([c], 0), [a]), undefined, 'not there');
  t.equal(findBatch([], [a]), undefined, 'empty run');
});

t.test('an accepted append is a repeat of another request only when the stored hash differs', async (t) => {
  t.equal(isRepeatOfAnother('h1', 'h1'), false, 'the stored events are this batch: written by this request');
  t.equal(isRepeatOfAnother('h1', 'h2'), true, "another request's events under these ids: a duplicate");
  t.equal(isRepeatOfAnother('h1', undefined), false, 'nothing stored to compare (deleted since): not a repeat');
});

t.test('a held claim: own when the same request, taken over only when its events never landed and it is old enough', async (t) => {
  const claim = { key: 'k', requestHash: 'r1' };
  const stored = { orgId: 'o', key: 'k', requestHash: 'r1', streamId: 's', firstEventId: randomUUID(), at: 0 };
  const old = { landed: false, ageMs: 60_000, takeoverAfterMs: 10_000 };
  t.equal(decideClaim(stored, claim, 's', old), 'own', 'same request and stream');
  t.equal(decideClaim(stored, claim, 's', { ...old, landed: true }), 'own', 'own even when landed (a retry)');
  const other = { key: 'k', requestHash: 'r2' };
  t.equal(decideClaim(stored, other, 's', old), 'take_over', 'events never landed, claim old: taken over');
  t.equal(decideClaim(stored, other, 's', { ...old, landed: true }), 'refuse', 'events landed: refused as PostgreSQL does');
  t.equal(decideClaim(stored, other, 's', { ...old, ageMs: 500 }), 'refuse', 'young claim: its request may still be appending');
  t.equal(decideClaim(stored, claim, 'elsewhere', old), 'take_over', 'same hash at another stream counts as another request');
  t.equal(decideClaim(undefined, other, 's', old), 'take_over', 'an unreadable claim does not block the key');
});

t.test('claim records read back with their first event and place; older claims without them still read', async (t) => {
  const id = randomUUID();
  t.same(readClaimRecord({ orgId: 'o', key: 'k', requestHash: 'r', streamId: 's', firstEventId: id, at: 3 }), {
    orgId: 'o',
    key: 'k',
    requestHash: 'r',
    streamId: 's',
    firstEventId: id,
    at: 3,
  });
  t.same(readClaimRecord({ orgId: 'o', key: 'k', requestHash: 'r', streamId: 's' }), {
    orgId: 'o',
    key: 'k',
    requestHash: 'r',
    streamId: 's',
    at: null,
  });
  t.equal(readClaimRecord({ orgId: 'o' }), undefined);
  t.equal(readClaimRecord('nope'), undefined);
});

t.test("the server's max-append-size refusal reads as one clear line naming the limit", async (t) => {
  const error = new AppendTooLargeError('lead-1', 3, 1_048_576);
  t.equal(error.name, 'AppendTooLargeError');
  t.match(error.message, /lead-1.*1048576 bytes.*EVENTSTORE_MAX_APPEND_SIZE.*nothing was written/);
  t.notMatch(error.message, /\n/);
});
