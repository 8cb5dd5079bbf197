// `callsnare webhook add|list|remove|deliveries|replay` (CONTRACT §9): the same functions as the internal
// API, one-line errors with exit 1, the secret printed once, NDJSON with --json.
import { execFileOwned } from '../support/processes.ts';
import { randomUUID } from 'node:crypto';
import t from 'tap';
import { createOrg } from '../../src/commands/orgs.ts';
import { PostgresEventStore } from '../../src/eventstore/postgres/store.ts';
import { testDatabase } from '../support/db.ts';
import { CLI_BIN, REPO_ROOT } from '../support/serve.ts';

t.setTimeout(600_000);
const database = await testDatabase(t);
const env = { PATH: process.env.PATH, HOME: process.env.HOME, DATABASE_URL: database.url };

const cli = (args: string[], extra: Record<string, string> = {}) =>
  new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFileOwned(
      process.execPath,
      [CLI_BIN, ...args],
      { env: { ...env, ...extra }, cwd: REPO_ROOT, timeout: 120_000 },
      (error, stdout, stderr) => {
        resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
      },
    );
  });

const store = new PostgresEventStore({ pool: database.pool, url: database.url });
t.teardown(() => store.close());
const orgId = randomUUID();
await createOrg(
  { store, clock: () => new Date() },
  { orgId, actor: { type: 'operator', id: 'test', label: 'test' }, correlationId: 'cli' },
  {
    orgId,
    name: 'Acme HVAC',
    timezone: 'America/Chicago',
    phones: [],
  },
);

t.test('add prints the secret once; list shows the endpoint with its health and never the secret; remove takes it away', async (t) => {
  const added = await cli([
    'webhook',
    'add',
    '--org',
    orgId,
    '--url',
    'https://93.184.215.14/hook',
    '--events',
    'booking.created,lead.created',
    '--json',
  ]);
  t.equal(added.code, 0, added.stderr);
  const endpoint = JSON.parse(added.stdout);
  t.match(endpoint, { id: String, url: 'https://93.184.215.14/hook', events: ['booking.created', 'lead.created'], secret: /^whsec_/ });

  const listed = await cli(['webhook', 'list', '--org', orgId, '--json']);
  t.equal(listed.code, 0, listed.stderr);
  t.match(JSON.parse(listed.stdout.trim()), { id: endpoint.id, status: 'active', health: { failuresInARow: 0 } });
  t.notOk(listed.stdout.includes(endpoint.secret));
  const table = await cli(['webhook', 'list', '--org', orgId]);
  t.match(table.stdout, /ID\s+URL\s+EVENTS\s+STATUS\s+LAST\s+FAILURES\s+NEXT RETRY/);

  const deliveries = await cli(['webhook', 'deliveries', '--org', orgId, '--endpoint', endpoint.id]);
  t.equal(deliveries.code, 0, deliveries.stderr);
  t.equal(deliveries.stdout.trim(), 'no deliveries');
  const replayed = await cli(['webhook', 'replay', '--org', orgId, '--endpoint', endpoint.id, '--since', '2020-01-01T00:00:00Z']);
  t.equal(replayed.stdout.trim(), '0 deliveries queued again');

  t.equal((await cli(['webhook', 'remove', '--org', orgId, '--endpoint', endpoint.id])).code, 0);
  t.equal((await cli(['webhook', 'list', '--org', orgId])).stdout.trim(), 'no webhook endpoints');
  const again = await cli(['webhook', 'remove', '--org', orgId, '--endpoint', endpoint.id]);
  t.equal(again.code, 1);
  t.equal(again.stderr, 'error: webhook endpoint not found\n');
});

t.test('a private or non-http URL is refused in one line unless WEBHOOK_ALLOW_PRIVATE=1', async (t) => {
  for (const [url, message] of [
    ['http://127.0.0.1:4040/hook', /--url: url resolves to 127\.0\.0\.1, a loopback, link-local or private address/],
    ['http://169.254.169.254/latest', /--url: url resolves to 169\.254\.169\.254/],
    ['ftp://93.184.215.14/x', /--url: url must use http or https, not ftp/],
  ] as const) {
    const refused = await cli(['webhook', 'add', '--org', orgId, '--url', url, '--events', 'booking.created']);
    t.equal(refused.code, 1, url);
    t.match(refused.stderr, message);
    t.equal(refused.stderr.trim().split('\n').length, 1, 'one line');
  }
  const bad = await cli(['webhook', 'add', '--org', orgId, '--url', 'https://93.184.215.14/hook', '--events', 'booking.exploded']);
  t.equal(bad.code, 1);
  t.match(bad.stderr, /--events/);
  const local = await cli(['webhook', 'add', '--org', orgId, '--url', 'http://127.0.0.1:4040/hook', '--events', 'booking.created'], {
    WEBHOOK_ALLOW_PRIVATE: '1',
  });
  t.equal(local.code, 0, local.stderr);
  t.match(local.stdout, /whsec_.*\nStore it now: it is not shown again\./s);
});
