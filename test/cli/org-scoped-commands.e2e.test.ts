// Every CLI command with --org refuses an unknown org (exit 1, one line); list output with --json is
// NDJSON; a closed pipe ends the command quietly; the timeline shows times in the org's zone.
import { execFileOwned } from '../support/processes.ts';
import { randomUUID } from 'node:crypto';
import t from 'tap';
import { issueCredential } from '../../src/identity/index.ts';
import { createOrg } from '../../src/commands/orgs.ts';
import { PostgresEventStore } from '../../src/eventstore/postgres/store.ts';
import { testDatabase } from '../support/db.ts';
import { CLI_BIN, REPO_ROOT } from '../support/serve.ts';

// Many spawned processes: on a loaded machine this file needs more than the default 300 s (never a speed assertion).
t.setTimeout(900_000);
const database = await testDatabase(t);
// The work happens in CLI processes; one held connection keeps the shared test server from looking idle.
const held = await database.pool.connect();
t.teardown(() => held.release());
// The machine's zone differs from every org's here, so a time shown in the machine's zone is caught.
const env = { PATH: process.env.PATH, HOME: process.env.HOME, DATABASE_URL: database.url, TZ: 'Asia/Tokyo' };

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(file: string, args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFileOwned(file, args, { env, cwd: REPO_ROOT, timeout: 120_000, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}
const cli = (args: string[]) => run(process.execPath, [CLI_BIN, ...args]);

const store = new PostgresEventStore({ pool: database.pool, url: database.url });
t.teardown(() => store.close());
const deps = { store, clock: () => new Date() };
const orgId = randomUUID();
const operator = { orgId, actor: { type: 'operator' as const, id: 'test', label: 'test' }, correlationId: 'cli-test' };
await createOrg(deps, operator, { orgId, name: 'Eastern HVAC', timezone: 'America/New_York', phones: [] });
// Enough events that `--json | head -1` closes the pipe while the command still writes.
for (let i = 0; i < 400; i++) {
  await issueCredential(deps, operator, { orgId, label: `widget ${i} ${'x'.repeat(150)}`, kind: 'integration', scopes: ['READ_BOOKINGS'] });
}

t.test('an unknown org is an error with exit 1 in every command that takes --org', async (t) => {
  const unknown = randomUUID();
  const commands = [
    ['audit', 'timeline', '--org', unknown],
    ['audit', 'verify', '--org', unknown],
    ['token', 'list', '--org', unknown],
    ['token', 'create', '--org', unknown, '--scopes', 'READ_BOOKINGS', '--label', 'x'],
    ['member', 'create', '--org', unknown, '--email', 'a@example.com', '--role', 'admin'],
    ['org', 'configure', '--org', unknown, '--text-back', 'off'],
    ['webhook', 'add', '--org', unknown, '--url', 'https://93.184.215.14/hook', '--events', 'booking.created'],
    ['webhook', 'list', '--org', unknown],
    ['webhook', 'remove', '--org', unknown, '--endpoint', randomUUID()],
    ['webhook', 'deliveries', '--org', unknown, '--endpoint', randomUUID()],
    ['webhook', 'replay', '--org', unknown, '--endpoint', randomUUID(), '--since', '2030-01-01T00:00:00Z'],
  ];
  for (const args of commands) {
    const result = await cli(args);
    t.equal(result.code, 1, args.join(' '));
    t.equal(result.stderr, `error: unknown org ${unknown}\n`, `${args.join(' ')}: one line`);
    t.equal(result.stdout, '', `${args.join(' ')}: no empty answer on stdout`);
  }
});

t.test('--json of list commands is NDJSON: one JSON object per line, as --help says', async (t) => {
  for (const args of [
    ['token', 'list', '--org', orgId, '--json'],
    ['audit', 'timeline', '--org', orgId, '--json'],
    ['projections', 'status', '--json'],
  ]) {
    const result = await cli(args);
    t.equal(result.code, 0, result.stderr);
    const lines = result.stdout.trimEnd().split('\n');
    t.ok(lines.length > 1, `${args.join(' ')} lists several items`);
    for (const line of lines) t.match(JSON.parse(line), {}, 'each line is one JSON object');
    const help = await cli([...args.slice(0, 2), '--help']);
    t.match(help.stdout, /--json\s+NDJSON: one JSON object per line/, `${args.slice(0, 2).join(' ')} --help documents it`);
  }
  const single = await cli(['audit', 'verify', '--org', orgId, '--json']);
  t.equal(single.code, 0, single.stderr);
  t.match(JSON.parse(single.stdout), { ok: true }, 'a command that prints one thing prints one JSON document');
});

t.test('writing to a closed pipe ends quietly, without an EPIPE stack trace', async (t) => {
  for (const command of [`audit timeline --org ${orgId} --json`, `token list --org ${orgId} --json`]) {
    const result = await run('bash', ['-c', `set -o pipefail; "${process.execPath}" "${CLI_BIN}" ${command} | head -1`]);
    t.equal(result.code, 0, `${command} | head -1 exits 0`);
    t.equal(result.stderr, '', 'nothing on stderr');
    t.match(JSON.parse(result.stdout), {}, 'the first line arrived');
  }
});

t.test('quiet hours like 9pm are answered with the HH:MM-HH:MM form', async (t) => {
  for (const value of ['9pm', '9pm-8am']) {
    const result = await cli(['org', 'configure', '--org', orgId, '--quiet-hours', value]);
    t.equal(result.code, 1);
    t.equal(result.stderr, 'error: --quiet-hours: use HH:MM-HH:MM, e.g. 21:00-08:00 (or off)\n', value);
  }
});

t.test("audit timeline shows times in the org's zone, not the machine's", async (t) => {
  const result = await cli(['audit', 'timeline', '--org', orgId, '--stream', `org-${orgId}`]);
  t.equal(result.code, 0, result.stderr);
  const row = result.stdout.split('\n').find((l) => l.includes('OrgCreated'))!;
  t.ok(row, 'the org creation is listed');
  t.match(row, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d E[SD]T /, 'New York time (EST/EDT), while TZ is Asia/Tokyo');
});
