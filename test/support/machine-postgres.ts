// The machine's own PostgreSQL server package (/usr/lib/postgresql/<major>/bin), for the tests that need
// tools the embedded build does not ship (pg_ctl, pg_dump, pg_basebackup, ...): finding them, running them
// (as the postgres user when the tests run as root: the server tools refuse root), and clusters whose
// postmaster runs in a process group the test owns.
import { type ChildProcess } from 'node:child_process';
import { chownSync, closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import pg from 'pg';
import type { Test } from 'tap';
import { execFileOwned, spawnOwned } from './processes.ts';

/** Tools that must run as the cluster's owner, never as root. */
const SERVER_TOOLS = new Set(['initdb', 'pg_ctl', 'pg_resetwal', 'pg_basebackup', 'postgres']);
const root = process.getuid?.() === 0;
const runuser = ['/usr/sbin/runuser', '/sbin/runuser'].find((p) => existsSync(p));

/** The postgres user's uid and gid, from /etc/passwd. */
function postgresUser(): { uid: number; gid: number } | undefined {
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('postgres:'));
  if (!line) return undefined;
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}
const serverUser = root ? postgresUser() : undefined;

/** The machine's PostgreSQL tools, or why a test needing them is skipped. */
export type MachinePostgres = { readonly bin: string; readonly skip: false } | { readonly bin?: undefined; readonly skip: string };

/** The newest /usr/lib/postgresql/<major>/bin holding every one of `tools`, if any, and whether this user can run them. */
export function machinePostgres(tools: readonly string[]): MachinePostgres {
  const base = '/usr/lib/postgresql';
  const bin = existsSync(base)
    ? readdirSync(base)
        .filter((v) => /^\d+$/.test(v))
        .sort((a, b) => Number(b) - Number(a))
        .map((v) => path.join(base, v, 'bin'))
        .find((dir) => tools.every((tool) => existsSync(path.join(dir, tool))))
    : undefined;
  if (!bin) return { skip: `no PostgreSQL server tools on this machine (${tools.join(', ')} under /usr/lib/postgresql/*/bin)` };
  if (root && (!runuser || !serverUser)) return { skip: 'running as root without a postgres user and runuser to run the server tools' };
  return { bin, skip: false };
}

/** The command line that runs `tool` (as postgres when we are root and it is a server tool). */
function commandOf(bin: string, tool: string, args: readonly string[]): [string, string[]] {
  const file = path.join(bin, tool);
  return root && SERVER_TOOLS.has(tool) ? [runuser!, ['-u', 'postgres', '--', file, ...args]] : [file, [...args]];
}

/** Runs one of the machine's PostgreSQL tools to its end (killed with the test if it outlives it). */
export function runTool(bin: string, tool: string, args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const [command, argv] = commandOf(bin, tool, args);
  return new Promise((resolve) =>
    execFileOwned(command, argv, { env: { PATH: process.env.PATH }, timeout: 120_000 }, (error, stdout, stderr) =>
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    ),
  );
}

/** A free loopback port (free when asked: the caller binds it right after). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** An empty folder the server tools' user owns (mode 0700, as PostgreSQL wants its data folders). */
export function serverFolder(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (serverUser) chownSync(dir, serverUser.uid, serverUser.gid);
}

/** A new, stopped cluster of the machine's PostgreSQL in `dir` (trust authentication, superuser postgres). */
export async function initCluster(t: Test, bin: string, dir: string): Promise<void> {
  serverFolder(dir);
  const init = await runTool(bin, 'initdb', ['-D', dir, '-A', 'trust', '-U', 'postgres', '--no-sync']);
  t.equal(init.code, 0, `initdb: ${init.stderr}`);
}

/** A running cluster of the machine's PostgreSQL. */
export interface MachineCluster {
  /** `postgres://postgres@127.0.0.1:<port>` (add the database). */
  readonly server: string;
  readonly port: number;
  readonly child: ChildProcess;
  /** Fast shutdown, waiting for it (`pg_ctl stop -m fast`). */
  stop(): Promise<void>;
}

/**
 * Starts the cluster in `dir` on a free loopback port (its socket in the cluster folder, fsync off, `extra`
 * server options) and waits until it takes connections. The postmaster is spawned directly, not through
 * `pg_ctl start` (which detaches it into a session of its own): it leads a process group the test owns, so it
 * dies with the test however the test ends (its backends, which PostgreSQL puts in groups of their own,
 * exit when it does); teardown stops it with `pg_ctl stop` first.
 */
export async function startCluster(t: Test, bin: string, dir: string, extra: readonly string[] = []): Promise<MachineCluster> {
  const port = await freePort();
  const log = openSync(path.join(dir, 'server.log'), 'a');
  const [command, argv] = commandOf(bin, 'postgres', [
    '-D',
    dir,
    '-p',
    String(port),
    '-k',
    dir,
    '-c',
    'listen_addresses=127.0.0.1',
    '-c',
    'fsync=off',
    ...extra,
  ]);
  const child = spawnOwned(command, argv, { stdio: ['ignore', log, log] });
  closeSync(log);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let running = true;
  void exited.then(() => (running = false));
  const stop = async () => {
    if (!running) return;
    await runTool(bin, 'pg_ctl', ['-D', dir, '-w', '-t', '60', '-m', 'fast', 'stop']);
    await exited;
  };
  t.teardown(async () => {
    if (!running) return;
    await runTool(bin, 'pg_ctl', ['-D', dir, '-w', '-t', '60', '-m', 'immediate', 'stop']);
    if (running) child.kill('SIGKILL');
    await exited;
  });
  const server = `postgres://postgres@127.0.0.1:${port}`;
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (!running) throw new Error(`postgres in ${dir} exited at start: see ${path.join(dir, 'server.log')}`);
    const client = new pg.Client({ connectionString: `${server}/postgres`, connectionTimeoutMillis: 5000 });
    client.on('error', () => {});
    try {
      await client.connect();
      await client.query('select 1');
      break;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 200));
    } finally {
      await client.end().catch(() => {});
    }
  }
  return { server, port, child, stop };
}
