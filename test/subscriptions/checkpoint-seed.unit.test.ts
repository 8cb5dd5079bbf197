import t from 'tap';
import { seededPosition } from '../../src/subscriptions/checkpoint-seed.ts';

const head = { commit: 900n, prepare: 899n };

t.test('on EventStoreDB a process manager that never ran starts at the store head, not at the first event', async (t) => {
  t.same(seededPosition('esdb', { seedAtHead: true, position: null }, head), { position: head });
});

t.test('on an empty EventStoreDB it starts at the beginning (nothing is history yet)', async (t) => {
  t.same(seededPosition('esdb', { seedAtHead: true, position: null }, null), { position: null });
});

t.test('a checkpoint that already moved is never moved by seeding', async (t) => {
  const moved = { commit: 10n, prepare: 9n };
  t.same(seededPosition('esdb', { seedAtHead: true, position: moved }, head), { position: moved });
});

t.test('on PostgreSQL the migration seeded the head already: the position stays', async (t) => {
  const seeded = { commit: 40n, prepare: 7n };
  t.same(seededPosition('postgres', { seedAtHead: true, position: seeded }, head), { position: seeded });
  t.same(seededPosition('postgres', { seedAtHead: true, position: null }, head), { position: null });
});

t.test('an unflagged checkpoint is left alone', async (t) => {
  t.equal(seededPosition('esdb', { seedAtHead: false, position: null }, head), undefined);
});
