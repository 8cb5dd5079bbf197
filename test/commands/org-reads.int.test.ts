// Reading an org: findOrg answers null for a missing org, loadOrg throws NotFoundError; both read the stream.
import { randomUUID } from 'node:crypto';
import t from 'tap';
import { findOrg, loadOrg } from '../../src/commands/org-reads.ts';
import { createOrg } from '../../src/commands/orgs.ts';
import { NotFoundError } from '../../src/domain/errors.ts';
import { PostgresEventStore } from '../../src/eventstore/postgres/store.ts';
import { operator } from '../support/app.ts';
import { testDatabase } from '../support/db.ts';

const database = await testDatabase(t);
const store = new PostgresEventStore({ pool: database.pool, url: database.url });
t.teardown(() => store.close());
const deps = { store, clock: () => new Date() };

t.test('a missing org is null to findOrg and NotFoundError to loadOrg', async (t) => {
  const missing = randomUUID();
  t.equal(await findOrg(deps, missing), null);
  await t.rejects(loadOrg(deps, missing), NotFoundError);
});

t.test('an existing org is the same to both, and a later change is seen', async (t) => {
  const orgId = randomUUID();
  await createOrg(deps, operator(orgId), { orgId, name: 'Found HVAC', timezone: 'America/Chicago', phones: [] });
  t.match(await findOrg(deps, orgId), { id: orgId, name: 'Found HVAC' });
  t.same(await loadOrg(deps, orgId), await findOrg(deps, orgId));
});
