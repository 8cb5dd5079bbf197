// `callsnare serve` as a person runs it: start-up lines, a taken port, Ctrl-C in a terminal (SIGINT to the
// whole process group), a failed start, and root in a folder the postgres user cannot enter.
import { type ChildProcess } from 'node:child_process';
import { execFileOwned, spawnOwned } from '../support/processes.ts';
import { existsSync, lstatSync, mkdtempSync, readFileSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { testDatabase } from '../support/db.ts';
import { CLI_BIN, REPO_ROOT } from '../support/serve.ts';
import { buildClient } from '../../bin/build-client.js';

// Many spawned processes: on a loaded machine this file needs more than the default 300 s (never a speed assertion).
t.setTimeout(900_000);
const base = { PATH: process.env.PATH, HOME: process.env.HOME };

interface Running {
  child: ChildProcess;
  out: () => string;
  err: () => string;
  exited: Promise<number | null>;
}

/** Spawns the CLI in its own process group, as a terminal runs a foreground job. */
function run(args: string[], env: Record<string, string | undefined>): Running {
  const child = spawnOwned(process.execPath, [CLI_BIN, ...args], { env, cwd: REPO_ROOT, detached: true });
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, out: () => out, err: () => err, exited };
}

async function until(what: string, check: () => boolean, ms = 120_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const messages = (stdout: string) =>
  stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { msg: string; level: number });

/** Removes a data folder and, when root kept its cluster elsewhere (see src/db/embedded.ts), that cluster too. */
function removeDataDir(dataDir: string): void {
  const link = path.join(dataDir, 'pg');
  if (existsSync(link) && lstatSync(link).isSymbolicLink())
    rmSync(path.dirname(realpathSync(link)), { recursive: true, force: true, maxRetries: 5 });
  rmSync(dataDir, { recursive: true, force: true, maxRetries: 5 });
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

t.test('Ctrl-C stops an embedded-database serve quietly, with one last line saying it stopped', async (t) => {
  const dataDir = path.join(REPO_ROOT, '.data', `serve-sigint-${process.pid}`);
  t.teardown(() => removeDataDir(dataDir));
  const serve = run(['serve'], { ...base, DATA_DIR: dataDir, PORT: '0' });
  t.teardown(() => serve.child.kill('SIGKILL'));
  await until('listening', () => /CallSnare listening on/.test(serve.out()));
  const address = /CallSnare listening on (http:\/\/[^"]+)"/.exec(serve.out())![1]!;
  const pgPid = Number(readFileSync(path.join(dataDir, 'pg', 'postmaster.pid'), 'utf8').split('\n')[0]);
  t.ok(alive(pgPid), 'the embedded PostgreSQL runs');

  // Start-up says what is on, and never the database password.
  const lines = messages(serve.out()).map((m) => m.msg);
  const password = (JSON.parse(readFileSync(path.join(dataDir, 'pg-auth.json'), 'utf8')) as { password: string }).password;
  t.notOk(serve.out().includes(password), 'the generated database password is not printed');
  t.ok(
    lines.some((l) => l.startsWith('database: embedded PostgreSQL') && l.includes(dataDir)),
    'names the embedded data folder',
  );
  t.ok(lines.includes('event store: PostgreSQL (EVENT_STORE=postgres)'));
  t.ok(
    lines.some((l) => /^webhooks: Twilio off .*PUBLIC_BASE_URL and TWILIO_AUTH_TOKEN/.test(l)),
    'says Twilio webhooks are off and how to turn them on',
  );
  t.ok(lines.some((l) => /^webhooks: Stripe off .*STRIPE_WEBHOOK_SECRET/.test(l)));
  t.ok(lines.some((l) => /^messaging: log \(MESSAGING=log/.test(l)));
  t.equal(lines.at(-1), `CallSnare listening on ${address}`, 'the address is the last start-up line');

  t.equal((await fetch(`${address}/api/private/v1/health`)).status, 401, 'it answers, with its pool connected');
  // A terminal's Ctrl-C reaches every process of the foreground group.
  process.kill(-serve.child.pid!, 'SIGINT');
  t.equal(await serve.exited, 0, 'exit 0');
  t.equal(serve.err(), '', 'nothing on stderr');
  t.notMatch(
    serve.out(),
    /57P01|ECONNRESET|terminating connection|Connection terminated|Trace|"level":50/,
    'no error lines while draining',
  );
  const after = messages(serve.out());
  t.equal(after.at(-1)?.msg, 'CallSnare stopped', 'the last line says it stopped');
  t.ok(after.filter((m) => m.level >= 40).length === 0, 'no warning or error was logged');
  await until('PostgreSQL to stop', () => !alive(pgPid), 30_000);
  t.notOk(existsSync(path.join(dataDir, 'pg', 'postmaster.pid')), 'the database was shut down cleanly');
});

t.test('a second serve on a taken port fails fast, names the port and PORT=, and starts nothing', async (t) => {
  const database = await testDatabase(t);
  const holder = net.createServer();
  await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
  t.teardown(() => holder.close());
  const port = (holder.address() as net.AddressInfo).port;
  const serve = run(['serve'], { ...base, DATABASE_URL: database.url, PORT: String(port), LOG_LEVEL: 'info' });
  t.teardown(() => serve.child.kill('SIGKILL'));
  const code = await Promise.race([serve.exited, new Promise<'running'>((r) => setTimeout(() => r('running'), 60_000))]);
  t.equal(code, 1, 'exits non-zero instead of running on');
  t.equal(
    serve.err(),
    `error: port ${port} on 127.0.0.1 is already in use (another CallSnare running?); choose another with PORT=, e.g. PORT=${port + 1} npm start\n`,
  );
  t.notMatch(serve.out(), /projectors|automation worker|applied migrations|listening/, 'no projector, worker or database work began');
  const { rows } = await database.pool.query(
    `select count(*)::int as n from information_schema.tables where table_schema = 'graphile_worker'`,
  );
  t.equal(rows[0].n, 0, 'the worker never started on the database');
});

t.test('start-up names a DATABASE_URL host without its password and the Twilio webhooks when configured', async (t) => {
  const database = await testDatabase(t);
  const url = new URL(database.url);
  const serve = run(['serve', '--no-worker'], {
    ...base,
    DATABASE_URL: database.url,
    PORT: '0',
    PUBLIC_BASE_URL: 'https://hooks.example.com',
    TWILIO_AUTH_TOKEN: 'secret-twilio-token',
  });
  t.teardown(() => serve.child.kill('SIGKILL'));
  await until('listening', () => /CallSnare listening on/.test(serve.out()));
  const lines = messages(serve.out()).map((m) => m.msg);
  t.ok(
    lines.includes(`database: PostgreSQL at ${url.hostname}:${url.port}${url.pathname} (DATABASE_URL)`),
    'names host, port and database',
  );
  if (url.password) t.notOk(serve.out().includes(decodeURIComponent(url.password)), 'never the password');
  t.notOk(serve.out().includes('secret-twilio-token'), 'never the Twilio token');
  t.ok(lines.includes('webhooks: Twilio on (signatures checked against https://hooks.example.com)'));
  t.ok(lines.some((l) => /automation worker off \(--no-worker\)/.test(l)));
  process.kill(-serve.child.pid!, 'SIGTERM');
  t.equal(await serve.exited, 0);
  t.equal(messages(serve.out()).at(-1)?.msg, 'CallSnare stopped');
});

t.test('serve hands /app the client bundle built at install, and builds nothing at start-up or at a request', async (t) => {
  // What `npm ci` left (prepare → bin/build.js); made here too when this checkout's client changed since.
  const { build } = await buildClient();
  const database = await testDatabase(t);
  const serve = run(['serve', '--no-worker'], { ...base, DATABASE_URL: database.url, PORT: '0', LOG_LEVEL: 'info' });
  t.teardown(() => serve.child.kill('SIGKILL'));
  await until('listening', () => /CallSnare listening on/.test(serve.out()));
  const address = /CallSnare listening on (http:\/\/[^"]+)"/.exec(serve.out())![1]!;
  const page = await (await fetch(`${address}/app`)).text();
  t.ok(page.includes(`/app/assets/${build.script}`), 'the page links the prebuilt script');
  t.ok(page.includes(`/app/assets/${build.stylesheet}`), 'and the prebuilt stylesheet');
  const script = await fetch(`${address}/app/assets/${build.script}`);
  t.equal(script.status, 200);
  t.equal(await script.text(), readFileSync(path.join(build.dir, build.script), 'utf8'), 'served from dist/client/<hash>/ as built');
  t.notMatch(serve.out(), /built them at start-up|could not be built/, 'the server did not build the client itself');
  process.kill(-serve.child.pid!, 'SIGTERM');
  t.equal(await serve.exited, 0);
});

const utilLinuxScript = ['/usr/bin/script', '/bin/script'].some((p) => existsSync(p)) && process.platform === 'linux';
t.test(
  'in a terminal serve prints readable lines; piped, JSON; LOG_FORMAT overrides either way',
  { skip: !utilLinuxScript && 'needs util-linux script for a pseudo-terminal' },
  async (t) => {
    const database = await testDatabase(t);
    const env = { ...base, DATABASE_URL: database.url, PORT: '0' };
    // util-linux's `script` gives serve a pseudo-terminal as stdout, as a person's terminal does.
    const tty = spawnOwned('script', ['-qfec', `${process.execPath} ${CLI_BIN} serve --no-worker`, '/dev/null'], {
      env: { ...env, TERM: 'dumb' },
      cwd: REPO_ROOT,
    });
    let shown = '';
    tty.stdout.on('data', (c: Buffer) => (shown += c.toString()));
    t.teardown(() => tty.kill('SIGKILL'));
    await until('listening in the terminal', () => /CallSnare listening on/.test(shown));
    const line = shown.split(/\r?\n/).find((l) => l.includes('CallSnare listening on'))!;
    t.match(
      line,
      /^\[\d{2}:\d{2}:\d{2}\.\d{3}\] INFO.*: CallSnare listening on http:\/\/127\.0\.0\.1:\d+/,
      'a time, a level and the message',
    );
    t.notOk(
      shown.split(/\r?\n/).some((l) => l.startsWith('{')),
      'no JSON objects on a terminal',
    );
    tty.kill('SIGINT');

    const json = run(['serve', '--no-worker'], { ...env, LOG_FORMAT: 'json' });
    t.teardown(() => json.child.kill('SIGKILL'));
    await until('listening, piped', () => /CallSnare listening on/.test(json.out()));
    t.ok(
      messages(json.out()).some((m) => m.msg.startsWith('CallSnare listening on')),
      'piped: JSON lines',
    );
    process.kill(-json.child.pid!, 'SIGTERM');
    await json.exited;

    const pretty = run(['serve', '--no-worker'], { ...env, LOG_FORMAT: 'pretty' });
    t.teardown(() => pretty.child.kill('SIGKILL'));
    await until('listening, pretty', () => /CallSnare listening on/.test(pretty.out()));
    t.match(pretty.out(), /INFO.*: CallSnare listening on/, 'LOG_FORMAT=pretty: human lines even when piped');
    t.equal(messages(pretty.out()).length, 0);
    process.kill(-pretty.child.pid!, 'SIGTERM');
    t.equal(await pretty.exited, 0);
  },
);

t.test('a start that cannot get its database exits non-zero with one line', async (t) => {
  const file = path.join(REPO_ROOT, '.data', `not-a-folder-${process.pid}`);
  writeFileSync(file, 'x');
  t.teardown(() => rmSync(file, { force: true }));
  const serve = run(['serve'], { ...base, DATA_DIR: file, PORT: '0' });
  t.equal(await serve.exited, 1);
  t.match(
    serve.err(),
    /^error: cannot start the embedded PostgreSQL \(DATA_DIR=.*\): .*; or set DATABASE_URL to use your own PostgreSQL\n$/,
  );

  const refused = run(['serve'], { ...base, DATABASE_URL: 'postgres://nobody:pw@127.0.0.1:1/none', PORT: '0' });
  t.equal(await refused.exited, 1);
  t.match(
    refused.err(),
    /^error: cannot reach the database at DATABASE_URL \(127\.0\.0\.1:1\/none\): .*ECONNREFUSED.*; check DATABASE_URL, or unset it to use the embedded PostgreSQL\n$/,
  );
  t.notMatch(refused.err(), /pw@/, 'never the password');

  const mysql = run(['serve'], { ...base, DATABASE_URL: 'mysql://root@127.0.0.1:3306/callsnare', PORT: '0' });
  t.equal(await mysql.exited, 2);
  t.equal(
    mysql.err(),
    'error: invalid DATABASE_URL: CallSnare requires PostgreSQL: use a postgres:// or postgresql:// URL (MySQL and other databases are not supported)\n',
  );
});

t.test(
  'as root, a data folder the postgres user cannot enter still works (the cluster moves where it can)',
  { skip: process.getuid?.() !== 0 && 'needs root' },
  async (t) => {
    const folder = mkdtempSync(path.join(os.tmpdir(), 'callsnare-0700-'));
    t.equal(statSync(folder).mode & 0o777, 0o700, "mktemp -d makes a 0700 folder, like root's home");
    const dataDir = path.join(folder, '.data');
    t.teardown(() => {
      removeDataDir(dataDir);
      rmSync(folder, { recursive: true, force: true });
    });
    const created = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
      execFileOwned(
        process.execPath,
        [CLI_BIN, 'org', 'create', '--name', 'Root HVAC', '--json'],
        { env: { ...base, DATA_DIR: dataDir }, cwd: REPO_ROOT, timeout: 120_000 },
        (error, stdout, stderr) => resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      ),
    );
    t.equal(created.code, 0, created.stderr);
    t.match(JSON.parse(created.stdout), { orgId: String, name: 'Root HVAC' });
    const target = realpathSync(path.join(dataDir, 'pg'));
    t.match(target, /^\/var\/lib\/callsnare\/clusters\//, 'the cluster lives where the postgres user can reach it');
    t.notOk(existsSync(path.join(target, 'postmaster.pid')), 'the one-shot command stopped the database it started');
  },
);
