// The README is a test: its tour runs here, in order, against a server this test starts.
//
// Convention (also stated in an HTML comment at the top of README.md):
//   ```sh          runs, in order, with bash (`set -euo pipefail`) from the repository folder: the reader's
//                  second terminal. Values a block `export`s reach the later blocks; nothing else does,
//                  so a later block that uses a variable nobody exported fails (`set -u`).
//   ```sh server   the reader's `npm start` terminal: its `[VAR=value ...] npm start` line (re)starts the
//                  test's server with those variables.
//   anything else  (```console, ```text, ...) never runs: use it for commands that cannot run here
//                  (`npm ci`, your own PostgreSQL, docker).
// The test's server listens on a free port: every `127.0.0.1:3000` in the README is replaced by it, and
// CLI commands and the server share the test's database through DATABASE_URL. Every `curl` reports its
// status (through a wrapper that adds `-w`), and each one must be a 2xx.
import { type ChildProcess } from 'node:child_process';
import { spawnOwned } from './support/processes.ts';
import { readFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { testDatabase } from './support/db.ts';
import { CLI_BIN, REPO_ROOT } from './support/serve.ts';

interface Block {
  readonly info: string;
  readonly body: string;
  readonly line: number;
}

/** The fenced blocks of a markdown text, with their info string and first line number. */
export function fencedBlocks(markdown: string): Block[] {
  const blocks: Block[] = [];
  const fence = /^```([^\n`]*)\n([\s\S]*?)^```[ \t]*$/gm;
  for (let m = fence.exec(markdown); m; m = fence.exec(markdown)) {
    blocks.push({ info: m[1]!.trim(), body: m[2]!, line: markdown.slice(0, m.index).split('\n').length });
  }
  return blocks;
}

// Many spawned processes: on a loaded machine this file needs more than the default 300 s (never a speed assertion).
t.setTimeout(900_000);
const readme = readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
const blocks = fencedBlocks(readme).filter((b) => b.info === 'sh' || b.info === 'sh server');

t.test('the README states which blocks run', async (t) => {
  t.match(readme, /<!-- README test \(test\/readme\.e2e\.test\.ts\): ```sh blocks run/);
  t.ok(blocks.filter((b) => b.info === 'sh').length >= 6, 'the tour has its shell blocks');
  t.ok(
    blocks.some((b) => b.info === 'sh server'),
    'and says when to restart the server',
  );
});

const database = await testDatabase(t);
const base = { PATH: process.env.PATH, HOME: process.env.HOME, DATABASE_URL: database.url };
const port = await freePort();
const address = `127.0.0.1:${port}`;
const localize = (text: string) => text.replaceAll('127.0.0.1:3000', address);

let server: { child: ChildProcess; exited: Promise<unknown> } | undefined;
t.teardown(() => server?.child.kill('SIGKILL'));

async function startServer(vars: Record<string, string>): Promise<void> {
  if (server) {
    server.child.kill('SIGTERM');
    await server.exited;
  }
  const child = spawnOwned(process.execPath, [CLI_BIN, 'serve'], {
    env: { ...base, ...vars, PORT: String(port), LOG_LEVEL: 'info' },
    cwd: REPO_ROOT,
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  server = { child, exited };
  await new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes(`CallSnare listening on http://${address}`)) resolve();
    });
    child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
    void exited.then(() => reject(new Error(`serve exited before listening:\n${out}`)));
  });
}

/** Runs one block with bash; returns its exit code, output, the HTTP statuses it got, and its exported environment. */
async function runBlock(
  body: string,
  env: Record<string, string>,
): Promise<{ code: number | null; stdout: string; stderr: string; statuses: string[]; env: Record<string, string> }> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'readme-block-'));
  const envFile = path.join(dir, 'env');
  const script = [
    'set -euo pipefail',
    `curl() { command curl -w '%{stderr}HTTP %{http_code} %{method} %{url_effective}\\n' "$@"; }`,
    body,
    `env -0 > ${JSON.stringify(envFile)}`,
  ].join('\n');
  const child = spawnOwned('bash', ['-c', script], { env, cwd: REPO_ROOT });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  const after: Record<string, string> = {};
  const raw = await fs.readFile(envFile, 'utf8').catch(() => '');
  for (const entry of raw.split('\0').filter(Boolean)) {
    const eq = entry.indexOf('=');
    const key = entry.slice(0, eq);
    if (!/^(BASH_FUNC_|SHLVL$|_$|PWD$|OLDPWD$)/.test(key)) after[key] = entry.slice(eq + 1);
  }
  await fs.rm(dir, { recursive: true, force: true });
  const statuses = stderr.split('\n').filter((l) => l.startsWith('HTTP '));
  return { code, stdout, stderr, statuses, env: after };
}

t.test('every shell block of the README tour runs, in order, and every request succeeds', async (t) => {
  await startServer({});
  let env: Record<string, string> = { ...base } as Record<string, string>;
  const all: string[] = [];
  for (const block of blocks) {
    const body = localize(block.body);
    if (block.info === 'sh server') {
      const line = body.split('\n').find((l) => /\bnpm start\s*$/.test(l));
      t.ok(line, `README.md:${block.line}: a server block has an \`npm start\` line`);
      const vars = Object.fromEntries([...line!.matchAll(/([A-Z_][A-Z0-9_]*)=(\S+)/g)].map((m) => [m[1]!, m[2]!]));
      await startServer(vars);
      continue;
    }
    const result = await runBlock(body, env);
    const where = `README.md:${block.line}`;
    t.equal(result.code, 0, `${where} exits 0`, { stdout: result.stdout.slice(-2000), stderr: result.stderr.slice(-2000) });
    if (result.code !== 0) break;
    if (/\bcurl\b/.test(body)) t.ok(result.statuses.length > 0, `${where} made its requests`);
    for (const status of result.statuses) t.match(status, /^HTTP 2\d\d /, `${where}: ${status}`, { stdout: result.stdout.slice(-2000) });
    all.push(...result.statuses);
    env = result.env;
  }
  // What the tour promises on the way, beyond "2xx".
  t.ok(
    all.some((s) => /^HTTP 201 POST .*\/api\/private\/v1\/bookings$/.test(s)),
    'the booking was created (201)',
  );
  t.ok(
    all.some((s) => /^HTTP 200 POST .*\/webhooks\/twilio\/voice$/.test(s)),
    'the signed missed call was accepted',
  );
  t.ok(all.filter((s) => /^HTTP 200 POST .*\/mcp$/.test(s)).length >= 4, 'the "For agents (MCP)" section talked to /mcp with its token');
  t.ok(
    all.some((s) => /^HTTP 200 GET .*\/docs\/actions$/.test(s)),
    'the docs page was served',
  );
  for (const name of ['ORG_ID', 'TOKEN', 'API', 'BOOKING_ID', 'MEMBER', 'ADMIN', 'AUDITOR', 'LEAD_ID', 'WIDGET_TOKEN']) {
    t.ok(env[name], `${name} was exported by the tour`);
  }
  const { rows } = await database.pool.query(`select count(*)::int as n from es_events where event_type = 'MissedCallRecorded'`);
  t.equal(rows[0].n, 2, 'the webhook recorded the missed calls (the tour and the consent walk-through)');
  const { rows: consent } = await database.pool.query(
    `select event_type, data from es_events
      where event_type in ('ContactOptedOut', 'ConfirmationSkipped') or (event_type = 'TextBackSent' and data->>'to' = '+15125550142')
      order by global_position`,
  );
  t.match(
    consent.map((r: { event_type: string; data: Record<string, unknown> }) => [r.event_type, r.data]),
    [
      ['TextBackSent', { to: '+15125550142', body: /\nReply STOP to opt out\.$/ }],
      ['ContactOptedOut', { phone: '+15125550142', source: 'keyword', evidence: { body: 'STOP' } }],
      ['ConfirmationSkipped', { reason: 'opted_out' }],
    ],
    'consent walk-through: text-back with the opt-out line, STOP recorded, the next confirmation skipped',
  );
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}
