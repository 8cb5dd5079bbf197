import { execFileOwned } from '../support/processes.ts';
import { randomUUID } from 'node:crypto';
import t from 'tap';
import { configureOrg, createOrg } from '../../src/commands/orgs.ts';
import { PostgresEventStore } from '../../src/eventstore/postgres/store.ts';
import { projector } from '../../src/projections/projection.ts';
import { catchUp } from '../../src/subscriptions/engine.ts';
import { orgsProjection } from '../../src/projections/read-models/orgs.ts';
import { orgIdByPhone } from '../../src/queries/orgs.ts';
import { operator } from '../support/app.ts';
import { testDatabase } from '../support/db.ts';
import { CLI_BIN, REPO_ROOT } from '../support/serve.ts';

const database = await testDatabase(t);
const store = new PostgresEventStore({ pool: database.pool, url: database.url });
t.teardown(() => store.close());
const deps = { store, db: database.db, clock: () => new Date() };
const env = { PATH: process.env.PATH, HOME: process.env.HOME, DATABASE_URL: database.url };

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFileOwned(process.execPath, [CLI_BIN, ...args], { env, cwd: REPO_ROOT, timeout: 120_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}
const types = async (orgId: string) => (await store.readStream(`org-${orgId}`)).map((e) => ({ type: e.type, data: e.data }));
const created = (run: { stdout: string }) => (JSON.parse(run.stdout) as { orgId: string }).orgId;

t.test('a number another org has is refused by org create and org configure, naming that org and --move-phone', async (t) => {
  // The owner and the other org are made through the same command functions the CLI calls.
  const ownerId = randomUUID();
  await createOrg(deps, operator(ownerId), { orgId: ownerId, name: 'Acme HVAC', timezone: 'America/Chicago', phones: ['+15125550100'] });
  const otherId = randomUUID();
  await createOrg(deps, operator(otherId), { orgId: otherId, name: 'Borealis Heating', timezone: 'America/Chicago', phones: [] });

  const refusedCreate = await cli(['org', 'create', '--name', 'Copycat Cooling', '--phone', '+15125550100']);
  t.equal(refusedCreate.code, 1);
  t.equal(
    refusedCreate.stderr,
    `error: --phone +15125550100 already belongs to org ${ownerId}; pass --move-phone to move it to this org\n`,
  );

  const refusedConfigure = await cli(['org', 'configure', '--org', otherId, '--phone', '+15125550100']);
  t.equal(refusedConfigure.code, 1);
  t.equal(
    refusedConfigure.stderr,
    `error: --phone +15125550100 already belongs to org ${ownerId}; pass --move-phone to move it to this org\n`,
  );
  t.same(
    (await types(otherId)).map((e) => e.type),
    ['OrgCreated'],
    'nothing recorded for the refused org',
  );
  t.equal(await orgIdByPhone(database.db, '+15125550100'), ownerId, 'the number still routes to its owner');
  const orgs = await database.db.selectFrom('orgs').select('name').execute();
  t.notOk(
    orgs.some((o) => o.name === 'Copycat Cooling'),
    'the refused org was not created',
  );

  t.test('--move-phone moves it explicitly, recorded on both orgs', async (t) => {
    const moved = await cli(['org', 'configure', '--org', otherId, '--phone', '+15125550100', '--move-phone', '--json']);
    t.equal(moved.code, 0, moved.stderr);
    t.match(await types(ownerId), [{ type: 'OrgCreated' }, { type: 'OrgPhoneRemoved', data: { phone: '+15125550100', movedTo: otherId } }]);
    t.match(await types(otherId), [{ type: 'OrgCreated' }, { type: 'OrgPhoneAdded', data: { phone: '+15125550100', movedFrom: ownerId } }]);
    t.equal(await orgIdByPhone(database.db, '+15125550100'), otherId);
    await catchUp(deps, projector(orgsProjection));
    const { rows } = await database.pool.query('select org_id from org_phones where phone = $1', ['+15125550100']);
    t.same(rows, [{ org_id: otherId }], 'the read model follows');
    const owners = await database.db.selectFrom('orgs').select(['id', 'state']).where('id', 'in', [ownerId, otherId]).execute();
    const phones = Object.fromEntries(owners.map((o) => [o.id, (o.state as { phones: string[] }).phones]));
    t.same(phones, { [ownerId]: [], [otherId]: ['+15125550100'] });
  });
});

t.test('two CLIs claiming one number at the same moment: one gets it, the other is refused', async (t) => {
  const phone = '+15125550177';
  const runs = await Promise.all([
    cli(['org', 'create', '--name', 'Racer One', '--phone', phone, '--json']),
    cli(['org', 'create', '--name', 'Racer Two', '--phone', phone, '--json']),
  ]);
  const winners = runs.filter((r) => r.code === 0);
  const losers = runs.filter((r) => r.code !== 0);
  t.equal(winners.length, 1, 'exactly one create succeeds');
  t.equal(losers.length, 1);
  const winner = created(winners[0]!);
  t.equal(losers[0]?.stderr, `error: --phone ${phone} already belongs to org ${winner}; pass --move-phone to move it to this org\n`);
  t.equal(await orgIdByPhone(database.db, phone), winner);
});

t.test('a claim left long ago by an org that was never created is taken over', async (t) => {
  const ghost = randomUUID();
  await database.db
    .insertInto('org_phone_claims')
    .values({ phone: '+15125550188', org_id: ghost, claimed_at: new Date(Date.now() - 3_600_000) })
    .execute();
  const orgId = randomUUID();
  await createOrg(deps, operator(orgId), { orgId, name: 'Late HVAC', timezone: 'America/Chicago', phones: ['+15125550188'] });
  t.equal(await orgIdByPhone(database.db, '+15125550188'), orgId);
});

t.test('configuring an unknown org gives back the numbers it claimed', async (t) => {
  const orgId = randomUUID();
  await t.rejects(configureOrg(deps, operator(orgId), { orgId, changes: {}, addPhones: ['+15125550199'] }));
  t.equal(await orgIdByPhone(database.db, '+15125550199'), undefined);
});
