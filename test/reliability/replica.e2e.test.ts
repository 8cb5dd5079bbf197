// Reads on a streaming replica, for real: a primary and a hot standby of the machine's PostgreSQL
// (`pg_basebackup -R`), `serve` with DATABASE_URL on the primary and READ_DATABASE_URL on the standby.
// Needs initdb, pg_ctl, pg_basebackup and postgres (the embedded build ships no pg_basebackup): skipped,
// saying so, where the machine has no PostgreSQL server package.
import { randomUUID } from 'node:crypto';
import { appendFileSync, chmodSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import t, { type Test } from 'tap';
import { issueCredential } from '../../src/identity/index.ts';
import { createOrg } from '../../src/commands/orgs.ts';
import { PostgresEventStore } from '../../src/eventstore/postgres/store.ts';
import { operator } from '../support/app.ts';
import { initCluster, machinePostgres, runTool, serverFolder, startCluster } from '../support/machine-postgres.ts';
import { startServe } from '../support/serve.ts';

t.setTimeout(600_000);
const tools = machinePostgres(['initdb', 'pg_ctl', 'pg_basebackup', 'postgres']);

async function query<R extends pg.QueryResultRow>(url: string, text: string, values: unknown[] = []): Promise<R[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<R>(text, values)).rows;
  } finally {
    await client.end();
  }
}

/** Polls `probe` until it answers something truthy (up to 30 s). */
async function eventually<T>(probe: () => Promise<T | undefined | false>, what: string): Promise<T> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

t.test(
  'reads go to a hot standby: a Consistency-Token read sees the write there, a stale one falls back, a stopped one is skipped, lag in /metrics',
  { skip: tools.skip },
  async (t) => {
    const bin = tools.bin!;
    const folder = mkdtempSync(path.join(os.tmpdir(), 'callsnare-replica-'));
    chmodSync(folder, 0o755); // the postgres user enters it
    t.teardown(() => rmSync(folder, { recursive: true, force: true }));

    const primaryDir = path.join(folder, 'primary');
    await initCluster(t, bin, primaryDir);
    appendFileSync(path.join(primaryDir, 'pg_hba.conf'), '\nhost replication all 127.0.0.1/32 trust\n');
    const primary = await startCluster(t, bin, primaryDir, ['-c', 'wal_level=replica', '-c', 'max_wal_senders=4']);
    await query(`${primary.server}/postgres`, 'create database callsnare');
    const standbyDir = path.join(folder, 'standby');
    serverFolder(standbyDir);
    const backup = await runTool(bin, 'pg_basebackup', [
      '-D',
      standbyDir,
      '-R',
      '-X',
      'stream',
      '-c',
      'fast',
      '-h',
      '127.0.0.1',
      '-p',
      String(primary.port),
      '-U',
      'postgres',
    ]);
    t.equal(backup.code, 0, `pg_basebackup: ${backup.stderr}`);
    const standby = await startCluster(t, bin, standbyDir, ['-c', 'hot_standby=on']);
    const primaryUrl = `${primary.server}/callsnare`;
    const standbyUrl = `${standby.server}/callsnare`;
    const replica = `127.0.0.1:${standby.port}/callsnare`;
    t.same(await query(standbyUrl, 'select pg_is_in_recovery() as recovering'), [{ recovering: true }], 'the standby is a hot standby');

    const serve = await startServe(
      { PATH: process.env.PATH, HOME: process.env.HOME, DATABASE_URL: primaryUrl, READ_DATABASE_URL: standbyUrl, METRICS_PUBLIC: '1' },
      ['serve'],
    );
    t.teardown(() => serve.child.kill('SIGKILL'));

    const pool = new pg.Pool({ connectionString: primaryUrl });
    t.teardown(() => pool.end());
    const store = new PostgresEventStore({ pool, url: primaryUrl });
    t.teardown(() => store.close());
    const deps = { store, clock: () => new Date() };
    const orgId = randomUUID();
    await createOrg(deps, operator(orgId), { orgId, name: 'Replica HVAC', timezone: 'America/Chicago', phones: [] });
    const { token } = await issueCredential(deps, operator(orgId), {
      orgId,
      label: 'replica',
      kind: 'integration',
      scopes: ['READ_BOOKINGS', 'WRITE_BOOKINGS'],
    });

    const api = (route: string, init: { method?: string; body?: unknown; headers?: Record<string, string> } = {}) =>
      fetch(`${serve.address}/api/private/v1${route}`, {
        method: init.method ?? 'GET',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...init.headers },
        ...(init.body !== undefined && { body: JSON.stringify(init.body) }),
      });
    const metrics = async () => (await fetch(`${serve.address}/metrics`)).text();
    const figure = (text: string, name: string, labels: string) =>
      Number(new RegExp(`^${name}\\{${labels}\\} (\\S+)$`, 'm').exec(text)?.[1] ?? Number.NaN);
    const readsBy = async () => {
      const text = await metrics();
      return {
        replica: figure(text, 'callsnare_read_queries_total', `database="${replica}"`) || 0,
        primary: figure(text, 'callsnare_read_queries_total', 'database="primary"') || 0,
      };
    };
    const create = async (t: Test, name: string) => {
      const res = await api('/bookings', {
        method: 'POST',
        body: {
          customer: { name, phone: '+15125550199' },
          window: { start: '2030-06-02T15:00:00Z', end: '2030-06-02T17:00:00Z' },
        },
      });
      t.equal(res.status, 201, `create ${name}`);
      return { id: ((await res.json()) as { id: string }).id, position: res.headers.get('consistency-token')! };
    };
    // The credential's read model (on the primary: authentication never reads a replica) has the token.
    await eventually(async () => (await api('/health')).status === 200, 'the token to authenticate');

    await t.test('a create then a read with its Consistency-Token sees the write on the replica', async (t) => {
      const before = await readsBy();
      const written = await create(t, 'Dana Diaz');
      const res = await api(`/bookings/${written.id}`, { headers: { 'consistency-token': written.position } });
      t.equal(res.status, 200);
      t.equal(((await res.json()) as { customer: { name: string } }).customer.name, 'Dana Diaz');
      const after = await readsBy();
      t.ok(after.replica > before.replica, `the replica served it (${before.replica} → ${after.replica} reads)`);
      t.equal(after.primary, before.primary, 'the primary served no read');
      const sessions = await query<{ n: string }>(
        standbyUrl,
        "select count(*) as n from pg_stat_activity where application_name = 'callsnare-read'",
      );
      t.ok(Number(sessions[0]!.n) > 0, "the service's read connections are on the standby");
    });

    await t.test(
      'with replay paused, reads without a token see the replica as it is; a token read falls back to the primary',
      async (t) => {
        await query(standbyUrl, 'select pg_wal_replay_pause()');
        const written = await create(t, 'Eli Evans');
        // On the primary the read model has it; the paused replica cannot.
        await eventually(
          async () => (await query(primaryUrl, 'select 1 from bookings where id = $1', [written.id])).length > 0,
          'the primary read model',
        );
        t.equal((await api(`/bookings/${written.id}`)).status, 404, 'read on the replica, which has not replayed the write');
        const before = await readsBy();
        const started = Date.now();
        const res = await api(`/bookings/${written.id}`, { headers: { 'consistency-token': written.position } });
        t.equal(res.status, 200, 'the token read answers from the primary');
        t.ok(Date.now() - started >= 900, 'after waiting the replica budget (1 s)');
        t.ok((await readsBy()).primary > before.primary, 'counted as a primary read');
        const lag = await eventually(async () => {
          const text = await metrics();
          const bytes = figure(text, 'callsnare_replica_lag_bytes', `replica="${replica}"`);
          return bytes > 0 && { bytes, up: figure(text, 'callsnare_replica_up', `replica="${replica}"`), text };
        }, 'replica lag in /metrics');
        t.ok(lag.bytes > 0, `lag in bytes: ${lag.bytes}`);
        t.equal(lag.up, 1, 'the replica is up');
        t.match(lag.text, new RegExp(`^callsnare_replica_lag_seconds\\{replica="${replica}"\\} \\d`, 'm'), 'lag in seconds');

        await query(standbyUrl, 'select pg_wal_replay_resume()');
        await eventually(async () => (await api(`/bookings/${written.id}`)).status === 200, 'the replica to replay the write');
        t.pass('once replay resumes, the replica has it');
      },
    );

    await t.test('a stopped replica: reads fall back to the primary, and /metrics shows it down', async (t) => {
      const written = await create(t, 'Fay Fox');
      await standby.stop();
      const before = await readsBy();
      const res = await api(`/bookings/${written.id}`, { headers: { 'consistency-token': written.position } });
      t.equal(res.status, 200, 'a token read');
      t.equal((await api(`/bookings?from=2030-06-01T00:00:00Z&to=2030-06-03T00:00:00Z`)).status, 200, 'a list without a token');
      const after = await readsBy();
      t.ok(after.primary > before.primary, `served by the primary (${before.primary} → ${after.primary} reads)`);
      t.equal(after.replica, before.replica, 'none by the stopped replica');
      await eventually(async () => figure(await metrics(), 'callsnare_replica_up', `replica="${replica}"`) === 0, 'callsnare_replica_up 0');
      t.pass('/metrics shows the replica down');
    });
  },
);
