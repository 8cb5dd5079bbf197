import { execFileOwned } from '../support/processes.ts';
import { randomUUID } from 'node:crypto';
import t from 'tap';
import { testDatabase } from '../support/db.ts';
import { CLI_BIN, REPO_ROOT, startServe } from '../support/serve.ts';

const root = REPO_ROOT;
const bin = CLI_BIN;
const database = await testDatabase(t);
const env = { PATH: process.env.PATH, HOME: process.env.HOME, DATABASE_URL: database.url };

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI as a user would, with only the variables given. */
function cli(args: string[], extraEnv: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFileOwned(
      process.execPath,
      [bin, ...args],
      { env: { ...env, ...extraEnv }, cwd: root, timeout: 60_000 },
      (error, stdout, stderr) => {
        resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
      },
    );
  });
}

const json = (run: Run) => JSON.parse(run.stdout.trim().split('\n').at(-1)!);

t.test('--help works on every command and exits 0', async (t) => {
  for (const args of [
    ['--help'],
    ['org', 'create', '--help'],
    ['token', 'create', '--help'],
    ['projections', 'status', '--help'],
    ['serve', '--help'],
  ]) {
    const run = await cli(args);
    t.equal(run.code, 0, args.join(' '));
    t.match(run.stdout, /Usage: callsnare/);
  }
});

t.test('org and token handoff, then list without secrets and revoke', async (t) => {
  const org = await cli(['org', 'create', '--name', 'Acme HVAC', '--timezone', 'America/Chicago', '--phone', '+15125550100', '--json']);
  t.equal(org.code, 0, org.stderr);
  const { orgId } = json(org);
  t.match(orgId, /^[0-9a-f-]{36}$/);

  const created = await cli([
    'token',
    'create',
    '--org',
    orgId,
    '--scopes',
    'READ_BOOKINGS,WRITE_BOOKINGS',
    '--label',
    'Dispatch board',
    '--json',
  ]);
  t.equal(created.code, 0, created.stderr);
  const token = json(created);
  t.match(token, { orgId, scopes: ['READ_BOOKINGS', 'WRITE_BOOKINGS'] });
  t.match(token.token, /^cs_live_/);

  const list = await cli(['token', 'list', '--org', orgId]);
  t.equal(list.code, 0);
  t.match(list.stdout, /Dispatch board/);
  t.notMatch(list.stdout, token.token, 'the secret is never listed');
  const { rows } = await database.pool.query('select token_hash from credentials where id = $1', [token.id]);
  t.notOk(JSON.stringify(rows).includes(token.token), 'only the hash is stored');

  const revoked = await cli(['token', 'revoke', '--id', token.id, '--json']);
  t.equal(revoked.code, 0, revoked.stderr);
  const after = await cli(['token', 'list', '--org', orgId, '--json']);
  t.match(JSON.parse(after.stdout.trim()), { id: token.id, revokedAt: String });
});

t.test('org configure records changed settings', async (t) => {
  const { orgId } = json(await cli(['org', 'create', '--name', 'Configurable', '--json']));
  const run = await cli([
    'org',
    'configure',
    '--org',
    orgId,
    '--reminders',
    '2880,60',
    '--text-back',
    'off',
    '--quiet-hours',
    '21:00-08:00',
    '--json',
  ]);
  t.equal(run.code, 0, run.stderr);
  t.match(json(run).settings, { reminderOffsetsMinutes: [2880, 60], textBack: false, quietHours: { start: '21:00', end: '08:00' } });
});

t.test('bad input fails with one line and a non-zero exit', async (t) => {
  const cases: [string[], RegExp, Record<string, string>?][] = [
    [['org', 'create', '--name', 'X', '--timezone', 'Mars/Olympus'], /^error: --timezone: must be an IANA time zone/],
    [['org', 'create', '--name', 'X', '--phone', '555-0100'], /^error: --phone: must be an E\.164 phone number/],
    [['token', 'create', '--org', randomUUID(), '--scopes', 'READ_BOOKINGS', '--label', 'x'], /^error: unknown org /],
    [['token', 'create', '--org', 'nope', '--scopes', 'READ_BOOKINGS', '--label', 'x'], /^error: --org: /],
    [['token', 'create', '--org', randomUUID(), '--scopes', 'EVERYTHING', '--label', 'x'], /^error: --scopes: /],
    [['token', 'revoke', '--id', randomUUID()], /^error: unknown credential /],
    [['org', 'configure', '--org', randomUUID(), '--confirmations', 'maybe'], /^error: --confirmations: must be on or off/],
    [['org', 'create', '--name', 'X'], /^error: invalid PORT: /, { PORT: 'abc' }],
    [
      ['org', 'create', '--name', 'X'],
      /^error: cannot reach the database at DATABASE_URL \(127\.0\.0\.1:1\/none\): /,
      { DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none' },
    ],
  ];
  for (const [args, message, extraEnv] of cases) {
    const run = await cli(args, extraEnv);
    t.not(run.code, 0, `${args.join(' ')} fails`);
    t.match(run.stderr, message, args.join(' '));
    t.equal(run.stderr.trim().split('\n').length, 1, 'one line');
  }
  const missing = await cli(['token', 'create', '--org', randomUUID()]);
  t.not(missing.code, 0);
  t.match(missing.stderr, /required option/);
});

t.test('projections status lists every projection with its lag', async (t) => {
  const run = await cli(['projections', 'status', '--json']);
  t.equal(run.code, 0, run.stderr);
  const rows = run.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  t.same(rows.map((r: { name: string }) => r.name).sort(), [
    'automation:process-manager',
    'bookings',
    'contact_consent',
    'credentials',
    'lead_timeline',
    'leads',
    'orgs',
    'reactor:lead-booking-link',
    'reactor:webhook-deliveries',
  ]);
  t.ok(rows.every((r: { lagEvents: number }) => typeof r.lagEvents === 'number'));
});

t.test('serve answers the handoff curl, and a revoked token is refused at once', async (t) => {
  const { orgId } = json(await cli(['org', 'create', '--name', 'Served', '--json']));
  const token = json(await cli(['token', 'create', '--org', orgId, '--scopes', 'READ_BOOKINGS', '--label', 'curl', '--json']));
  const { child: server, address } = await startServe(env);
  t.teardown(() => {
    server.kill('SIGTERM');
  });
  const health = await fetch(`${address}/api/private/v1/health`, { headers: { authorization: `Bearer ${token.token}` } });
  t.equal(health.status, 200);
  t.match(await health.json(), { orgId, credential: { id: token.id, label: 'curl' } });
  const revoked = await cli(['token', 'revoke', '--id', token.id]);
  t.equal(revoked.code, 0);
  const after = await fetch(`${address}/api/private/v1/health`, { headers: { authorization: `Bearer ${token.token}` } });
  t.equal(after.status, 401);
  const stopped = new Promise<number | null>((resolve) => server.on('exit', (code) => resolve(code)));
  server.kill('SIGTERM');
  t.equal(await stopped, 0, 'SIGTERM drains and exits 0');
});
