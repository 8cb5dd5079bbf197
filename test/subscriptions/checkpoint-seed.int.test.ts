import { randomUUID } from 'node:crypto';
import t from 'tap';
import { seedCheckpoints } from '../../src/subscriptions/checkpoint-seed.ts';
import { PROCESS_MANAGER } from '../../src/automation/process-manager-runner.ts';
import { createOrg } from '../../src/commands/orgs.ts';
import { testEnv } from '../../src/config.ts';
import { PostgresEventStore } from '../../src/eventstore/postgres/store.ts';
import { readCheckpoint } from '../../src/subscriptions/checkpoints.ts';
import { operator } from '../support/app.ts';
import { testDatabase } from '../support/db.ts';

const row = async (db: Awaited<ReturnType<typeof testDatabase>>['db']) =>
  db
    .selectFrom('projection_checkpoints')
    .select(['seed_at_head', 'commit_position'])
    .where('name', '=', PROCESS_MANAGER)
    .executeTakeFirstOrThrow();

t.test('PostgreSQL: the migration seeded the process manager at the (empty) head; the first start keeps it', async (t) => {
  const database = await testDatabase(t);
  const store = new PostgresEventStore({ pool: database.pool, url: database.url });
  t.teardown(() => store.close());
  t.same(await row(database.db), { seed_at_head: true, commit_position: null }, 'flagged by migration 011');
  const orgId = randomUUID();
  await createOrg({ store, clock: () => new Date() }, operator(orgId), {
    orgId,
    name: 'Acme HVAC',
    timezone: 'America/Chicago',
    phones: [],
  });
  await seedCheckpoints({ db: database.db, store });
  t.same(await row(database.db), { seed_at_head: false, commit_position: null }, 'events after the migration are work, not history');
});

const esdb = testEnv().eventStoreConnectionString;
t.test(
  'EventStoreDB: a process manager that never ran starts at the store head',
  { skip: esdb ? false : 'EVENTSTORE_CONNECTION_STRING not set' },
  async (t) => {
    const { EsdbEventStore } = await import('../../src/eventstore/esdb/store.ts');
    const database = await testDatabase(t);
    const store = new EsdbEventStore({ connectionString: esdb! });
    t.teardown(() => store.close());
    const orgId = randomUUID();
    await createOrg({ store, clock: () => new Date() }, operator(orgId), {
      orgId,
      name: 'Acme HVAC',
      timezone: 'America/Chicago',
      phones: [],
    });
    const head = await store.headPosition();
    await seedCheckpoints({ db: database.db, store });
    const seeded = await readCheckpoint(database.db, PROCESS_MANAGER);
    t.ok(head && seeded.position && seeded.position.commit >= head.commit, 'at or past the head seen before seeding');
    t.equal((await row(database.db)).seed_at_head, false);
  },
);
