// The idle-checkpoint rule of read-your-writes (waitForCheckpoints): when may an idle subscriber's
// checkpoint move to an awaited position without its subscription having reported one.
import t from 'tap';
import type { Position, RecordedEvent } from '../../src/eventstore/port.ts';
import { idleCheckpoint, needsIdleCheckpoints } from '../../src/subscriptions/engine.ts';

const p = (n: number): Position => ({ commit: BigInt(n), prepare: BigInt(n) });
const at = (n: number) => ({ position: p(n) }) as RecordedEvent;

t.test('nothing of its kind up to the awaited position: the checkpoint moves to it', async (t) => {
  t.same(idleCheckpoint(p(10), p(20), { events: [at(25)], checkpoint: p(25) }), p(20), 'first match past the target');
});

t.test('nothing of its kind anywhere: the checkpoint moves to the end of the read', async (t) => {
  t.same(idleCheckpoint(p(10), p(20), { events: [], checkpoint: p(30) }), p(30));
  t.same(idleCheckpoint(null, p(20), { events: [], checkpoint: p(30) }), p(30), 'from no checkpoint at all');
  t.same(idleCheckpoint(p(10), p(20), { events: [], checkpoint: p(15) }), p(15), 'the read ended before the target: as far as it read');
});

t.test('an event it must handle lies at or before the awaited position: the checkpoint stays', async (t) => {
  t.equal(idleCheckpoint(p(10), p(20), { events: [at(15)], checkpoint: p(15) }), null);
  t.equal(idleCheckpoint(p(10), p(20), { events: [at(20)], checkpoint: p(20) }), null, 'the awaited event itself');
});

t.test('already at or past the awaited position, or the read did not move: the checkpoint stays', async (t) => {
  t.equal(idleCheckpoint(p(20), p(20), { events: [], checkpoint: p(30) }), null);
  t.equal(idleCheckpoint(p(25), p(20), { events: [], checkpoint: p(30) }), null);
  t.equal(idleCheckpoint(p(10), p(20), { events: [], checkpoint: p(10) }), null);
  t.equal(idleCheckpoint(p(10), p(20), { events: [], checkpoint: null }), null);
});

t.test('only EventStoreDB needs the rule; the PostgreSQL store keeps its own behaviour', async (t) => {
  t.equal(needsIdleCheckpoints({ kind: 'esdb' }), true);
  t.equal(needsIdleCheckpoints({ kind: 'postgres' }), false);
});
