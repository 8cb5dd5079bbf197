// The read side's routing without a real standby (test/reliability/replica.e2e.test.ts has one): a replica
// that refuses connections and the test database named as a "replica" (not in recovery: it has every write).
import pino from 'pino';
import t from 'tap';
import { openServices } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { REPLICA_RETRY_MS, ReadDatabases, replicaLabel } from '../../src/db/read-pool.ts';
import { replicaLags } from '../../src/db/replica-lag.ts';
import { freePort } from '../support/machine-postgres.ts';
import { testDatabase } from '../support/db.ts';

const database = await testDatabase(t);
const refusing = `postgres://postgres@127.0.0.1:${await freePort()}/nothing`;

t.test('without READ_DATABASE_URL a process opens no read pools', async (t) => {
  const services = await openServices(loadConfig({ DATABASE_URL: database.url }), pino({ level: 'silent' }), { migrate: false });
  t.teardown(() => services.close());
  t.equal(services.reads, undefined);
});

t.test('replicas take turns; one that refuses is skipped for a while and its reads go to the primary', async (t) => {
  let now = 1_000_000;
  const reads = new ReadDatabases(database.pool, [refusing, database.url], { max: 2, clock: () => now });
  t.teardown(() => reads.close());
  const [down, up] = [replicaLabel(refusing), replicaLabel(database.url)];
  t.equal(down, `127.0.0.1:${new URL(refusing).port}/nothing`, 'labelled by host, port and database');

  const first = reads.choose();
  t.equal(first.name, down);
  t.equal(reads.choose().name, up, 'round-robin');
  const { rows } = await first.pool.query<{ one: number }>({ text: 'select 1 as one' });
  t.same(rows, [{ one: 1 }], 'a named-statement read on the refusing replica is answered by the primary');
  t.same(await first.db.selectFrom('bookings').select('id').execute(), [], 'so is a kysely read');
  t.same(Object.fromEntries(reads.checkouts), { primary: 2 }, 'both counted as primary reads');
  t.equal(reads.choose().name, up, 'the failed replica is skipped');
  t.equal(reads.choose().name, up);

  const upTarget = reads.choose();
  await upTarget.db.selectFrom('bookings').select('id').execute();
  t.equal(reads.checkouts.get(up), 1, 'a read on a healthy replica is counted as its own');

  now += REPLICA_RETRY_MS;
  t.equal(reads.choose().name, down, 'tried again after the retry interval');
});

t.test('a replica that refuses the login or lacks the database is skipped too, and reported once', async (t) => {
  const missing = new URL(database.url);
  missing.pathname = '/cs_no_such_database';
  const failures: string[] = [];
  const reads = new ReadDatabases(database.pool, [missing.toString()], { onFailure: (replica) => failures.push(replica) });
  t.teardown(() => reads.close());
  const target = reads.choose();
  t.same(await target.db.selectFrom('bookings').select('id').execute(), [], 'read on the primary');
  await target.pool.query({ text: 'select 1' });
  t.same(failures, [replicaLabel(missing.toString())], 'reported once');
  t.equal(reads.choose().name, 'primary', 'every replica skipped: the primary');
});

t.test(
  'a token read stays on a replica that has the write and moves to the primary when one cannot answer; lag reports both',
  async (t) => {
    const reads = new ReadDatabases(database.pool, [refusing, database.url]);
    t.teardown(() => reads.close());
    const [refuser, healthy] = [reads.choose(), reads.choose()];
    t.equal(await reads.caughtUp(healthy, 100), healthy, 'a server not in recovery has every write');
    t.equal((await reads.caughtUp(refuser, 100)).name, 'primary', 'an unreachable replica: the primary');
    const lags = await replicaLags(database.pool, reads.replicas);
    t.same(
      lags.map((l) => [l.name, l.up, l.bytes]),
      [
        [replicaLabel(refusing), false, null],
        [replicaLabel(database.url), true, 0],
      ],
      'lag: the refusing one down, the other caught up',
    );
  },
);
